"""Radiology facts for radiology_qa, one entry per Radiopaedia system, in the order of
knowledge.SYSTEMS: chest, cardiac, central nervous system, urogenital, oncology, breast,
musculoskeletal, hepatobiliary, vascular, gastrointestinal, obstetrics, interventional,
trauma, spine, forensic, and not specified (physics, contrast and safety).

Written for this project in our own words (nothing copied from Radiopaedia or any
other source); general textbook knowledge, simplified, and not clinical guidance.
Each fact is (article, answer, questions that the answer answers). Data only: one
file, because it is one table.
"""

from __future__ import annotations

Fact = tuple[str, str, tuple[str, ...]]

FACTS: dict[str, tuple[Fact, ...]] = {
    "chest": (
        ("Deep sulcus sign", "On a supine radiograph a pneumothorax can show as the deep sulcus sign: an abnormally "
         "deep and lucent costophrenic angle, because free air rises to the front and base of the chest.",
         ("Which sign suggests a pneumothorax on a supine chest radiograph?", "What is the deep sulcus sign?",
          "How can a pneumothorax be recognized on a supine chest film?")),
        ("Silhouette sign", "The silhouette sign is the loss of a normal border between two touching structures of "
         "similar density, such as the heart and consolidated lung next to it; it helps localize the abnormality.",
         ("What is the silhouette sign?", "What does loss of the right heart border on a chest X-ray mean?",
          "Explain the silhouette sign on chest radiographs.")),
        ("Air bronchogram", "An air bronchogram is air-filled bronchi made visible by the opaque, fluid- or "
         "cell-filled lung around them; it points to an airspace process such as pneumonia.",
         ("What is an air bronchogram?", "What does an air bronchogram indicate?",
          "Why can bronchi be seen inside a consolidation?")),
        ("Endotracheal tube position", "In an adult the endotracheal tube tip should lie about 3 to 7 cm above "
         "the carina, roughly 5 cm with the neck in a neutral position.",
         ("Where should the tip of an endotracheal tube lie in an adult?",
          "How far above the carina should an endotracheal tube terminate?",
          "What is the ideal distance between the ETT tip and the carina?")),
        ("Central venous catheter position", "The tip of a central venous catheter or PICC should ideally lie "
         "in the lower superior vena cava or at the cavoatrial junction.",
         ("Where should the tip of a central venous catheter be?", "What is the target position for a PICC tip?",
          "Where is the ideal location for a central line tip?")),
        ("Pleural effusion volume", "About 200 mL of pleural fluid is needed to blunt the lateral costophrenic "
         "angle on an upright PA radiograph; a lateral view shows as little as about 50 mL posteriorly.",
         ("How much pleural fluid is needed to blunt the costophrenic angle on a frontal chest film?",
          "What volume of pleural effusion becomes visible on an upright PA radiograph?",
          "How much fluid must collect before the lateral costophrenic angle is blunted?")),
        ("Kerley B lines", "Kerley B lines are short horizontal lines at the lung periphery near the costophrenic "
         "angles; they are thickened interlobular septa, most often from interstitial pulmonary edema.",
         ("What are Kerley B lines?", "What causes Kerley B lines?",
          "Which lines on a chest radiograph show interlobular septal thickening?")),
        ("Cardiothoracic ratio", "On a PA chest radiograph the cardiothoracic ratio is normally below 0.5; an AP "
         "film magnifies the heart, so it overestimates heart size.",
         ("What is a normal cardiothoracic ratio?", "When is the heart enlarged on a PA chest radiograph?",
          "Why does an AP chest film overestimate heart size?")),
        ("Enteric tube position", "An enteric tube should run down the midline, cross the diaphragm, and end with "
         "its tip and side hole well inside the stomach, about 10 cm past the gastroesophageal junction.",
         ("Where should the tip of a nasogastric tube lie?", "What is the correct position of an enteric tube?",
          "How is a well-placed feeding tube recognized on a radiograph?")),
        ("Tension pneumothorax", "A tension pneumothorax pushes the mediastinum away from the affected side, "
         "flattens or inverts the hemidiaphragm and widens the rib spaces; it is a clinical emergency.",
         ("What are the radiographic signs of a tension pneumothorax?",
          "Which way does the mediastinum shift in a tension pneumothorax?",
          "How does a tension pneumothorax look on a chest X-ray?")),
    ),
    "cardiac": (
        ("Pericardial effusion", "A large pericardial effusion gives a globular, water-bottle shaped cardiac "
         "silhouette on a radiograph; echocardiography confirms it.",
         ("How does a large pericardial effusion appear on a chest radiograph?",
          "What is the water-bottle heart?", "Which heart shape suggests a pericardial effusion?")),
        ("Left atrial enlargement", "Left atrial enlargement can show a double density behind the right heart "
         "border, splaying of the carina and a bulging left atrial appendage.",
         ("What are the radiographic signs of left atrial enlargement?",
          "How does an enlarged left atrium show on a chest X-ray?",
          "Which chest film signs point to a large left atrium?")),
        ("Late gadolinium enhancement", "Late gadolinium enhancement on cardiac MRI shows scar or fibrosis; "
         "subendocardial or transmural enhancement in a coronary territory means infarction.",
         ("What does late gadolinium enhancement show on cardiac MRI?",
          "Which enhancement pattern on cardiac MRI indicates myocardial infarction?",
          "What is late gadolinium enhancement used for?")),
        ("Coronary calcium score", "The Agatston score measures coronary artery calcium on non-contrast CT; "
         "zero means no calcified plaque, and higher scores mean higher cardiovascular risk.",
         ("What is the Agatston score?", "What does a coronary calcium score of zero mean?",
          "How is coronary artery calcium quantified on CT?")),
        ("Constrictive pericarditis", "A pericardium thicker than about 4 mm, often calcified, with signs of "
         "impaired filling such as a septal bounce suggests constrictive pericarditis.",
         ("What imaging findings suggest constrictive pericarditis?",
          "How thick is an abnormal pericardium on CT or MRI?", "How is constrictive pericarditis recognized on imaging?")),
        ("Stages of cardiogenic edema", "As left atrial pressure rises, radiographs show upper lobe vascular "
         "redistribution first, then interstitial edema with Kerley lines and peribronchial cuffing, then alveolar edema.",
         ("In what order do the signs of cardiogenic pulmonary edema appear on radiographs?",
          "What is the first radiographic sign of rising left atrial pressure?",
          "How does congestive heart failure progress on chest radiographs?")),
        ("Coronary CT angiography", "Coronary CT angiography is used to exclude significant coronary artery "
         "disease in patients at low to intermediate risk, because a normal study is very reliable.",
         ("Who benefits from coronary CT angiography?", "What is coronary CT angiography mainly used for?",
          "Why is a normal coronary CT angiogram reassuring?")),
    ),
    "central nervous system": (
        ("Acute hemorrhage on CT", "Acute blood is bright (hyperdense) on non-contrast CT, typically around 50 to "
         "70 HU, and fades to isodense and then hypodense over days to weeks.",
         ("How does acute hemorrhage appear on non-contrast head CT?",
          "How does the density of intracranial blood change over time on CT?", "Is acute blood bright or dark on CT?")),
        ("Epidural and subdural hematoma", "An epidural hematoma is biconvex and does not cross sutures; a subdural "
         "hematoma is crescent-shaped and crosses sutures but not the midline.",
         ("How can an epidural hematoma be told apart from a subdural hematoma?",
          "What shape is an epidural hematoma?", "Does a subdural hematoma cross the sutures?")),
        ("Diffusion imaging in stroke", "Diffusion-weighted MRI shows acute ischemic stroke within minutes as bright "
         "signal with low ADC values, because water diffusion is restricted.",
         ("Which MRI sequence detects acute ischemic stroke earliest?", "How does an acute infarct look on diffusion-weighted MRI?",
          "What does restricted diffusion in the brain indicate?")),
        ("Hyperdense artery sign", "A hyperdense middle cerebral artery on non-contrast CT shows thrombus in the "
         "vessel and is an early sign of ischemic stroke.",
         ("What is the hyperdense MCA sign?", "What does a bright middle cerebral artery on CT mean?",
          "Which early CT sign shows a clot in a cerebral artery?")),
        ("Ring-enhancing lesions", "Common causes of ring-enhancing brain lesions are metastases, abscess, "
         "high-grade glioma, demyelination and a resolving hematoma or infarct.",
         ("What is the differential diagnosis of ring-enhancing brain lesions?",
          "Which lesions enhance in a ring pattern in the brain?", "What can cause a ring-enhancing lesion on brain MRI?")),
        ("Multiple sclerosis", "Multiple sclerosis plaques are T2-bright lesions, typically periventricular, "
         "juxtacortical, infratentorial and in the cord; ovoid lesions perpendicular to the ventricles are Dawson fingers.",
         ("Where are multiple sclerosis lesions typically found on MRI?", "What are Dawson fingers?",
          "How does multiple sclerosis appear on brain MRI?")),
        ("Subarachnoid hemorrhage", "Subarachnoid hemorrhage shows as hyperdense blood in the sulci and basal "
         "cisterns; without trauma its most common cause is a ruptured aneurysm.",
         ("How does subarachnoid hemorrhage appear on CT?",
          "What is the most common non-traumatic cause of subarachnoid hemorrhage?", "Where does subarachnoid blood collect?")),
        ("Hydrocephalus versus atrophy", "Dilated temporal horns and rounded frontal horns out of proportion to the "
         "sulci favor hydrocephalus over atrophy.",
         ("How can hydrocephalus be distinguished from brain atrophy on imaging?",
          "Which ventricular signs suggest hydrocephalus?", "What favors hydrocephalus rather than volume loss?")),
    ),
    "urogenital": (
        ("Urinary stones", "Low-dose non-contrast CT is the most sensitive test for urinary tract stones, and almost "
         "all stones are dense on CT.",
         ("What is the best imaging test for kidney stones?", "Which CT protocol is used for suspected renal colic?",
          "Are urinary stones visible on CT?")),
        ("Bosniak classification", "The Bosniak classification grades cystic renal masses by wall, septa, "
         "calcification and enhancement, from a benign simple cyst (I) to a likely malignant lesion (IV).",
         ("What is the Bosniak classification?", "How are cystic kidney masses graded?",
          "What does a Bosniak IV renal cyst mean?")),
        ("Angiomyolipoma", "Macroscopic fat inside a renal mass is almost always diagnostic of an angiomyolipoma.",
         ("Which finding is diagnostic of a renal angiomyolipoma?", "What does fat inside a kidney mass suggest?",
          "How is an angiomyolipoma recognized on CT?")),
        ("Testicular torsion", "On Doppler ultrasound testicular torsion shows absent or reduced blood flow in the "
         "affected testis; it is a surgical emergency.",
         ("How is testicular torsion diagnosed on ultrasound?", "What Doppler finding indicates testicular torsion?",
          "What does absent flow in a testis on Doppler mean?")),
        ("Hydronephrosis", "Hydronephrosis is dilatation of the renal pelvis and calyces, seen on ultrasound as "
         "connected fluid spaces in the renal sinus, usually from obstruction.",
         ("What is hydronephrosis?", "How does hydronephrosis look on ultrasound?",
          "What does a dilated renal collecting system indicate?")),
        ("PI-RADS", "PI-RADS scores prostate MRI lesions from 1 to 5 for the likelihood of significant cancer; "
         "diffusion imaging leads in the peripheral zone and T2 imaging in the transition zone.",
         ("What is PI-RADS?", "How are prostate MRI lesions scored?",
          "Which sequence dominates PI-RADS scoring in the peripheral zone?")),
        ("Simple renal cyst", "A simple renal cyst on ultrasound is anechoic with a thin, imperceptible wall and "
         "posterior acoustic enhancement, and needs no follow-up.",
         ("What are the ultrasound features of a simple renal cyst?", "Does a simple kidney cyst need follow-up?",
          "How is a simple renal cyst recognized on ultrasound?")),
    ),
    "oncology": (
        ("RECIST", "RECIST 1.1 follows up to five target lesions, two per organ, by longest diameter and lymph nodes "
         "by short axis; a 30% decrease is a partial response and a 20% increase of at least 5 mm is progression.",
         ("What is RECIST?", "How is tumor response measured with RECIST 1.1?",
          "What change in tumor size counts as progression under RECIST?")),
        ("FDG PET", "FDG PET shows glucose uptake; many cancers are FDG-avid, but infection, inflammation, the brain "
         "and the heart also take it up, and some low-grade tumors take up little.",
         ("What does FDG PET measure?", "What causes false-positive FDG uptake?",
          "Are all cancers FDG-avid on PET?")),
        ("Incidental lung nodules", "The Fleischner Society guidelines set follow-up for incidental lung nodules "
         "by size, number, density and risk; a solid nodule under 6 mm in a low-risk adult usually needs no routine follow-up.",
         ("How are incidental pulmonary nodules followed up?", "What are the Fleischner Society guidelines?",
          "Does a 4 mm solid lung nodule in a low-risk patient need follow-up?")),
        ("Sclerotic metastases", "Prostate and breast cancer are the most common sources of sclerotic (blastic) "
         "bone metastases.",
         ("Which cancers cause sclerotic bone metastases?", "What are the common sources of blastic bone metastases?",
          "Sclerotic bone lesions in a man most often come from which cancer?")),
        ("Lytic metastases", "Kidney, thyroid, lung and breast cancers are classic sources of lytic bone metastases.",
         ("Which cancers cause lytic bone metastases?", "What are the common sources of lytic bone lesions?",
          "Expansile lytic metastases suggest which primary tumors?")),
        ("Lymph node size", "A lymph node is generally called enlarged when its short-axis diameter exceeds 10 mm, "
         "although its shape and internal structure matter too.",
         ("When is a lymph node considered enlarged on CT?", "What is the size threshold for an abnormal lymph node?",
          "Which measurement of a lymph node is used to call it enlarged?")),
        ("Cannonball metastases", "Multiple large, round lung metastases, called cannonball metastases, classically "
         "come from renal cell carcinoma, choriocarcinoma or sarcoma.",
         ("What are cannonball metastases?", "Which tumors cause cannonball lung metastases?",
          "What do multiple large round lung masses suggest?")),
    ),
    "breast": (
        ("BI-RADS categories", "BI-RADS 0 means incomplete, 1 negative, 2 benign, 3 probably benign, 4 suspicious, "
         "5 highly suggestive of malignancy and 6 a known biopsy-proven cancer.",
         ("What do the BI-RADS categories mean?", "What is BI-RADS 4?", "How are mammography results categorized?")),
        ("Suspicious calcifications", "Fine pleomorphic or fine linear branching calcifications in a linear or "
         "segmental distribution are suspicious for malignancy.",
         ("Which breast calcifications are suspicious for cancer?", "What calcification morphology suggests malignancy?",
          "When are microcalcifications on a mammogram worrying?")),
        ("Fibroadenoma", "A fibroadenoma is typically an oval, circumscribed, hypoechoic mass lying parallel to "
         "the skin on ultrasound.",
         ("How does a fibroadenoma look on ultrasound?", "What are the ultrasound features of a fibroadenoma?",
          "Which benign breast mass is oval and parallel to the skin?")),
        ("Breast density", "Dense breast tissue lowers the sensitivity of mammography and raises cancer risk; "
         "density is graded from A, almost entirely fatty, to D, extremely dense.",
         ("Why does breast density matter?", "How is breast density graded?",
          "What does category D breast density mean?")),
        ("Screening MRI", "Breast MRI screening is advised for women at high risk, such as BRCA carriers or those "
         "with a lifetime risk above about 20%.",
         ("Who should have screening breast MRI?", "When is MRI used for breast cancer screening?",
          "Which women benefit from supplemental breast MRI?")),
        ("Spiculated mass", "A spiculated mass on mammography is highly suspicious for invasive carcinoma.",
         ("What does a spiculated breast mass suggest?", "How worrying is a spiculated mass on a mammogram?",
          "Which mass margin is most suspicious on mammography?")),
        ("Implant rupture", "The linguine sign on MRI, collapsed implant shell folds floating in silicone, "
         "indicates intracapsular rupture of a silicone implant.",
         ("What is the linguine sign?", "How is intracapsular silicone implant rupture seen on MRI?",
          "Which MRI sign shows a ruptured breast implant?")),
    ),
    "musculoskeletal": (
        ("Salter-Harris", "The Salter-Harris classification grades growth plate fractures from I to V; type II, "
         "through the physis and metaphysis, is the most common.",
         ("What is the Salter-Harris classification?", "Which Salter-Harris type is the most common?",
          "How are physeal fractures classified?")),
        ("Scaphoid fracture", "A scaphoid fracture can be invisible on the first radiographs; a suspected one is "
         "immobilized and reimaged or checked with MRI, because the proximal pole risks avascular necrosis.",
         ("Why are scaphoid fractures important?", "What should be done for a suspected scaphoid fracture with normal films?",
          "What complication follows a missed scaphoid fracture?")),
        ("Osteoarthritis", "Osteoarthritis shows asymmetric joint space narrowing, osteophytes, subchondral "
         "sclerosis and subchondral cysts.",
         ("What are the radiographic signs of osteoarthritis?", "How does osteoarthritis look on an X-ray?",
          "Which features define degenerative joint disease on radiographs?")),
        ("Rheumatoid arthritis", "Rheumatoid arthritis shows symmetric joint space narrowing, periarticular "
         "osteopenia and marginal erosions, typically at the wrists and the MCP joints.",
         ("What are the radiographic features of rheumatoid arthritis?", "Which joints does rheumatoid arthritis favor?",
          "How does rheumatoid arthritis differ from osteoarthritis on X-ray?")),
        ("Osteomyelitis", "MRI is the most sensitive imaging test for osteomyelitis, showing marrow edema with low "
         "T1 and high T2 signal.",
         ("What is the best imaging test for osteomyelitis?", "How does osteomyelitis appear on MRI?",
          "Which MRI signal pattern suggests bone infection?")),
        ("Gout", "Gout gives punched-out erosions with overhanging edges, often at the first metatarsophalangeal "
         "joint, with the joint space kept until late.",
         ("What are the radiographic features of gout?", "Where does gout typically cause erosions?",
          "What are overhanging edges on a radiograph?")),
        ("Elbow fat pad sign", "A raised posterior fat pad on a lateral elbow radiograph means a joint effusion "
         "and, after trauma, an occult fracture.",
         ("What does a visible posterior fat pad at the elbow mean?", "What is the elbow fat pad sign?",
          "Why look for fat pads on an elbow radiograph after a fall?")),
    ),
    "hepatobiliary": (
        ("Gallstones", "Gallstones are echogenic foci in the gallbladder that cast a posterior acoustic shadow and "
         "move when the patient changes position.",
         ("How do gallstones appear on ultrasound?", "What are the ultrasound features of cholelithiasis?",
          "Why do gallstones cast a shadow on ultrasound?")),
        ("Acute cholecystitis", "Ultrasound signs of acute cholecystitis include gallstones, gallbladder wall "
         "thickening, pericholecystic fluid and a positive sonographic Murphy sign.",
         ("What are the ultrasound signs of acute cholecystitis?", "How is acute cholecystitis diagnosed on ultrasound?",
          "What is the sonographic Murphy sign used for?")),
        ("Hepatocellular carcinoma", "Hepatocellular carcinoma typically enhances in the arterial phase and washes "
         "out in the portal venous or delayed phase.",
         ("How does hepatocellular carcinoma enhance on CT or MRI?", "What is arterial enhancement with washout?",
          "Which enhancement pattern is typical of HCC?")),
        ("Hepatic hemangioma", "A hepatic hemangioma shows peripheral, nodular, discontinuous enhancement that "
         "fills in toward the center on delayed images.",
         ("How does a liver hemangioma enhance?", "What is the enhancement pattern of a hepatic hemangioma?",
          "Which liver lesion fills in centripetally?")),
        ("Hepatic steatosis", "A fatty liver is brighter than the kidney on ultrasound and lower in attenuation "
         "than the spleen on non-contrast CT.",
         ("How is fatty liver recognized on ultrasound?", "How does hepatic steatosis appear on CT?",
          "What are the imaging signs of a fatty liver?")),
        ("Common bile duct size", "The common bile duct normally measures up to about 6 mm in adults, slightly more "
         "in older people and after cholecystectomy.",
         ("What is the normal diameter of the common bile duct?", "When is the common bile duct dilated?",
          "How wide can the bile duct be after cholecystectomy?")),
        ("Pneumobilia and portal venous gas", "Gas in the bile ducts gathers centrally near the liver hilum, "
         "while portal venous gas reaches the periphery of the liver.",
         ("How can pneumobilia be told apart from portal venous gas?", "Where does portal venous gas collect in the liver?",
          "Is central liver gas biliary or portal?")),
    ),
    "vascular": (
        ("Abdominal aortic aneurysm", "An abdominal aortic aneurysm is an abdominal aorta wider than 3 cm; repair is "
         "usually considered at about 5.5 cm or with rapid growth.",
         ("When is the abdominal aorta aneurysmal?", "At what size is an abdominal aortic aneurysm usually repaired?",
          "What is the definition of an abdominal aortic aneurysm?")),
        ("Aortic dissection", "A Stanford type A dissection involves the ascending aorta and usually needs surgery; "
         "type B spares it and is often treated medically.",
         ("What is the Stanford classification of aortic dissection?", "How is a type A aortic dissection treated?",
          "What distinguishes a type B aortic dissection?")),
        ("Deep vein thrombosis", "On ultrasound a deep vein thrombosis shows a vein that does not compress under "
         "probe pressure, often with echogenic clot and no flow.",
         ("How is deep vein thrombosis diagnosed on ultrasound?", "What does a non-compressible vein mean?",
          "What are the ultrasound signs of DVT?")),
        ("Pulmonary embolism", "Pulmonary embolism appears on CT pulmonary angiography as a filling defect in a "
         "contrast-filled pulmonary artery.",
         ("How does pulmonary embolism appear on CT?", "What is the CT sign of a pulmonary embolus?",
          "How is pulmonary embolism diagnosed with CT angiography?")),
        ("Carotid stenosis", "Carotid stenosis on Doppler is graded mainly by peak systolic velocity in the internal "
         "carotid artery; above about 230 cm/s suggests a stenosis of 70% or more.",
         ("How is carotid stenosis graded on Doppler ultrasound?", "What velocity suggests severe carotid stenosis?",
          "Which Doppler measurement grades internal carotid narrowing?")),
        ("Endoleak", "An endoleak is continued blood flow in the aneurysm sac outside an endovascular graft; type II, "
         "from branch vessels, is the most common.",
         ("What is an endoleak?", "Which type of endoleak is the most common?",
          "What causes a type II endoleak?")),
        ("Right ventricular strain", "On CT, right heart strain from pulmonary embolism shows a right to left "
         "ventricular diameter ratio above 1 and a septum bowing toward the left ventricle.",
         ("What are the CT signs of right ventricular strain in pulmonary embolism?",
          "What RV to LV ratio suggests right heart strain?", "How does right heart strain appear on CT?")),
    ),
    "gastrointestinal": (
        ("Free intraperitoneal air", "On an upright chest radiograph free intraperitoneal air collects under the "
         "diaphragm as a lucent crescent; a few milliliters can be enough to see it.",
         ("Where does free air collect on an upright chest radiograph?", "How is pneumoperitoneum seen on a chest X-ray?",
          "What does a lucent crescent under the diaphragm mean?")),
        ("Small bowel obstruction", "Small bowel obstruction shows small bowel loops dilated beyond about 3 cm with "
         "air-fluid levels and collapsed bowel past a transition point.",
         ("What are the imaging signs of small bowel obstruction?", "When is small bowel considered dilated?",
          "What is a transition point in bowel obstruction?")),
        ("Appendicitis", "On CT acute appendicitis shows an appendix wider than about 6 mm with a thick, enhancing "
         "wall and stranding of the fat around it.",
         ("What are the CT signs of acute appendicitis?", "What appendix diameter suggests appendicitis?",
          "How does an inflamed appendix look on CT?")),
        ("Sigmoid volvulus", "Sigmoid volvulus gives a large, inverted U-shaped dilated loop rising from the pelvis, "
         "the coffee bean sign.",
         ("What is the coffee bean sign?", "How does sigmoid volvulus appear on an abdominal radiograph?",
          "Which sign suggests a sigmoid volvulus?")),
        ("Rigler sign", "The Rigler sign is visibility of both sides of the bowel wall, because gas lies inside and "
         "outside the bowel; it indicates pneumoperitoneum.",
         ("What is the Rigler sign?", "What does seeing both sides of the bowel wall mean?",
          "Which radiograph sign shows free air on a supine film?")),
        ("Diverticulitis", "Diverticulitis on CT shows colonic diverticula with wall thickening and stranding of the "
         "fat around them, most often in the sigmoid colon.",
         ("What are the CT findings of diverticulitis?", "Where does diverticulitis most often occur?",
          "How is diverticulitis diagnosed on CT?")),
        ("Pneumatosis intestinalis", "Pneumatosis intestinalis is gas in the bowel wall; together with portal venous "
         "gas in an unwell patient it suggests bowel ischemia.",
         ("What is pneumatosis intestinalis?", "What does gas in the bowel wall suggest?",
          "When is pneumatosis a sign of ischemia?")),
    ),
    "obstetrics": (
        ("Gestational sac", "A gestational sac can be seen on transvaginal ultrasound from about 4.5 to 5 weeks "
         "of gestation.",
         ("When does the gestational sac become visible on ultrasound?", "How early can a pregnancy be seen transvaginally?",
          "At what gestational age is the gestational sac first seen?")),
        ("Crown-rump length", "In the first trimester the crown-rump length is the most accurate ultrasound "
         "measurement for dating a pregnancy.",
         ("What is the most accurate way to date a pregnancy by ultrasound?", "What is crown-rump length used for?",
          "Which first trimester measurement dates a pregnancy best?")),
        ("Ectopic pregnancy", "An empty uterus with a positive pregnancy test and an adnexal mass separate from the "
         "ovary raises strong concern for an ectopic pregnancy.",
         ("What ultrasound findings suggest an ectopic pregnancy?", "What does an adnexal mass with an empty uterus mean?",
          "How is an ectopic pregnancy recognized on ultrasound?")),
        ("Placenta previa", "Placenta previa is a placenta covering or lying very close to the internal cervical os; "
         "transvaginal ultrasound assesses it best.",
         ("What is placenta previa?", "How is placenta previa diagnosed?",
          "Which ultrasound approach best shows the placental edge and the cervix?")),
        ("Nuchal translucency", "An increased nuchal translucency at 11 to 14 weeks is associated with chromosomal "
         "abnormalities and heart defects.",
         ("What does an increased nuchal translucency mean?", "When is nuchal translucency measured?",
          "What is nuchal translucency screening for?")),
        ("Imaging in pregnancy", "Most diagnostic imaging, a chest radiograph included, gives the fetus a dose far "
         "below levels linked to harm; ultrasound and MRI use no ionizing radiation.",
         ("Is a chest X-ray safe in pregnancy?", "Which imaging tests avoid ionizing radiation in pregnancy?",
          "How large is the fetal dose from a chest radiograph?")),
        ("Embryonic cardiac activity", "Cardiac activity is usually seen on transvaginal ultrasound once the embryo "
         "measures about 7 mm in crown-rump length.",
         ("When should embryonic cardiac activity be visible?", "At what crown-rump length is a heartbeat expected?",
          "When is absent embryonic heartbeat concerning?")),
    ),
    "interventional": (
        ("Seldinger technique", "The Seldinger technique enters a vessel with a needle, passes a guidewire through "
         "it, removes the needle and advances a catheter or sheath over the wire.",
         ("What is the Seldinger technique?", "How is vascular access gained over a guidewire?",
          "Describe the steps of the Seldinger technique.")),
        ("IVC filter", "An IVC filter is usually placed below the renal veins to catch emboli from the leg veins "
         "when a patient cannot take anticoagulation.",
         ("Where is an IVC filter usually placed?", "Why is an inferior vena cava filter inserted?",
          "Who needs an IVC filter?")),
        ("TIPS", "A TIPS is a stent-lined channel between a hepatic vein and the portal vein that lowers portal "
         "pressure in portal hypertension.",
         ("What is a TIPS procedure?", "How does a TIPS lower portal pressure?",
          "Which veins does a transjugular intrahepatic portosystemic shunt connect?")),
        ("Percutaneous nephrostomy", "A percutaneous nephrostomy drains an obstructed kidney through a catheter "
         "placed into the collecting system under imaging guidance.",
         ("What is a percutaneous nephrostomy?", "How is an obstructed kidney drained percutaneously?",
          "When is a nephrostomy tube placed?")),
        ("Embolic agents", "Coils and plugs block larger vessels permanently, particles block small vessels, and "
         "gelatin sponge gives a temporary block.",
         ("Which embolic agents are used in interventional radiology?", "Which embolic agent gives temporary occlusion?",
          "When are coils used for embolization?")),
        ("Contrast premedication", "Patients with a previous moderate or severe reaction to iodinated contrast may "
         "get corticosteroid and antihistamine premedication before another contrast study.",
         ("How are patients with a prior contrast reaction prepared?", "What is contrast premedication?",
          "Who should receive premedication before iodinated contrast?")),
        ("Abscess drainage", "Image-guided abscess drainage usually places a pigtail catheter, whose coiled tip "
         "keeps it inside the cavity.",
         ("Which catheter is used for percutaneous abscess drainage?", "Why do drainage catheters have a pigtail?",
          "How is an abscess drained under imaging guidance?")),
    ),
    "trauma": (
        ("FAST examination", "The FAST ultrasound looks for free fluid in the right upper quadrant, left upper "
         "quadrant, pelvis and pericardium of a trauma patient.",
         ("What does a FAST scan examine?", "Which regions are imaged in a FAST ultrasound?",
          "What is the FAST exam looking for?")),
        ("Blunt aortic injury", "Blunt aortic injury most often occurs at the aortic isthmus, just beyond the left "
         "subclavian artery; a widened mediastinum on radiograph prompts CT angiography.",
         ("Where does blunt aortic injury usually occur?", "What radiograph finding suggests traumatic aortic injury?",
          "Which part of the aorta tears in deceleration injury?")),
        ("Flail chest", "A flail chest is three or more adjacent ribs each broken in two or more places, making a "
         "segment that moves paradoxically with breathing.",
         ("What is a flail chest?", "How many rib fractures make a flail segment?",
          "Why does a flail segment move paradoxically?")),
        ("Splenic injury", "The spleen is the solid organ most often injured in blunt abdominal trauma; CT grades "
         "its lacerations, hematomas and active bleeding.",
         ("Which solid organ is most often injured in blunt abdominal trauma?", "How is splenic injury assessed?",
          "What does CT show in splenic trauma?")),
        ("Lipohemarthrosis", "A fat-fluid level in a joint on a horizontal beam radiograph, a lipohemarthrosis, "
         "indicates an intra-articular fracture.",
         ("What is a lipohemarthrosis?", "What does a fat-fluid level in the knee mean after trauma?",
          "Which radiograph sign indicates an intra-articular fracture?")),
        ("Pelvic ring injury", "The pelvis is a ring, so a fracture in one place often comes with a second fracture "
         "or a joint disruption elsewhere in the ring.",
         ("Why look for a second injury in a pelvic fracture?", "What is special about pelvic ring fractures?",
          "Is a single break in the pelvic ring common?")),
        ("Hemothorax", "A hemothorax is blood in the pleural space; on CT acute blood is denser than simple fluid, "
         "often 35 HU or more.",
         ("What is a hemothorax?", "How can a hemothorax be told apart from a simple effusion on CT?",
          "What attenuation suggests blood in the pleural space?")),
    ),
    "spine": (
        ("Three-column model", "The Denis three-column model divides the spine into anterior, middle and posterior "
         "columns; injury to two or more suggests instability.",
         ("What is the three-column model of the spine?", "When is a spinal fracture considered unstable?",
          "What are the Denis columns?")),
        ("Disc protrusion and extrusion", "A disc protrusion has a base wider than how far it extends beyond the "
         "disc space, while an extrusion extends further than the width of its base.",
         ("What is the difference between a disc protrusion and an extrusion?", "How is a disc extrusion defined?",
          "How are disc herniations classified by shape?")),
        ("Cauda equina syndrome", "Suspected cauda equina syndrome needs an urgent MRI of the lumbar spine.",
         ("How is suspected cauda equina syndrome imaged?", "Which test is urgent in cauda equina syndrome?",
          "What imaging does cauda equina compression need?")),
        ("Spondylolysis", "Spondylolysis is a defect of the pars interarticularis, most often at L5; on oblique "
         "radiographs it looks like a collar on the Scottie dog.",
         ("What is spondylolysis?", "Where does spondylolysis usually occur?", "What is the Scottie dog collar?")),
        ("Discitis-osteomyelitis", "Discitis-osteomyelitis on MRI shows a fluid-bright disc with erosion and edema "
         "of the neighboring endplates and vertebral bodies.",
         ("How does discitis appear on MRI?", "What are the MRI signs of spinal infection?",
          "What does endplate destruction with a bright disc suggest?")),
        ("Malignant compression fracture", "A convex posterior vertebral border, pedicle involvement and an epidural "
         "mass favor a malignant compression fracture over an osteoporotic one.",
         ("How can a malignant vertebral fracture be told apart from an osteoporotic one?",
          "Which features suggest a pathological compression fracture?", "What does a convex posterior vertebral border suggest?")),
        ("Cervical spine imaging rules", "Decision rules such as NEXUS and the Canadian C-spine rule pick out trauma "
         "patients who can safely skip cervical spine imaging.",
         ("Which rules decide whether a trauma patient needs cervical spine imaging?", "What is the NEXUS rule for?",
          "How is cervical spine imaging avoided safely after trauma?")),
    ),
    "forensic": (
        ("Non-accidental injury", "Classic metaphyseal lesions, posterior rib fractures and fractures of different "
         "ages in an infant are highly suspicious for non-accidental injury.",
         ("Which fractures suggest child abuse?", "What skeletal findings point to non-accidental injury in infants?",
          "Why are posterior rib fractures in an infant worrying?")),
        ("Postmortem CT", "Postmortem CT documents fractures, gas, foreign bodies and bleeding before or instead of "
         "an autopsy.",
         ("What is postmortem CT used for?", "What can postmortem CT show?", "Why image a body before autopsy?")),
        ("Skeletal age", "Skeletal age can be estimated from ossification centers and growth plate fusion, for "
         "example on a hand radiograph compared with the Greulich and Pyle atlas.",
         ("How is age estimated from radiographs?", "What is the Greulich and Pyle atlas used for?",
          "Which skeletal features show a person's age?")),
        ("Dental identification", "Comparing dental radiographs from before and after death is a reliable way to "
         "identify human remains.",
         ("How are human remains identified with radiographs?", "Why are dental X-rays used in identification?",
          "Which radiographs are compared to identify a body?")),
        ("Lead snowstorm", "A lead snowstorm of many small metal fragments along a wound track suggests a high-velocity bullet.",
         ("What is a lead snowstorm?", "What do many small metal fragments along a wound track mean?",
          "Which radiograph pattern suggests a high-velocity gunshot?")),
        ("Postmortem gas", "After death, gas forms in vessels and organs from decomposition and must not be mistaken "
         "for air embolism before death.",
         ("Why is gas seen in vessels after death?", "How is decomposition gas told apart from air embolism?",
          "What causes postmortem gas on CT?")),
        ("Body packing", "Drug packets carried inside the body for smuggling appear on radiographs or CT as "
         "uniform, oval densities in the bowel.",
         ("How does body packing appear on imaging?", "How are swallowed drug packets detected?",
          "What do uniform oval densities in the bowel suggest?")),
    ),
    "not specified": (
        ("Hounsfield units", "Hounsfield units set water at 0 and air at about -1000; fat is around -100 and dense "
         "bone several hundred to over 1000.",
         ("What are Hounsfield units?", "What is the attenuation of fat on CT?", "What Hounsfield value does water have?")),
        ("T1 and T2 weighting", "On T1-weighted MRI fat is bright and water dark; on T2-weighted MRI water is bright.",
         ("How do fat and water appear on T1 and T2 MRI?", "Is fluid bright on T1 or T2 images?",
          "What is the difference between T1 and T2 weighted images?")),
        ("Iodinated contrast and kidneys", "Iodinated contrast can be given to most patients with stable kidney "
         "function; risk is judged from the eGFR, and severe renal impairment calls for caution.",
         ("Is iodinated contrast safe in kidney disease?", "How is renal risk assessed before a contrast CT?",
          "When is iodinated contrast a concern for the kidneys?")),
        ("Gadolinium safety", "Nephrogenic systemic fibrosis is linked to some gadolinium agents in severe renal "
         "impairment; newer macrocyclic agents carry a very low risk.",
         ("What is nephrogenic systemic fibrosis?", "Which gadolinium agents are safest?",
          "When is gadolinium a risk?")),
        ("ALARA", "ALARA means keeping the radiation dose as low as reasonably achievable while still answering the "
         "clinical question.",
         ("What does ALARA mean?", "What is the ALARA principle?", "How should radiation dose be chosen?")),
        ("Acoustic shadowing", "Posterior acoustic shadowing appears behind strongly reflecting or absorbing "
         "structures such as stones or bone, and posterior enhancement appears behind fluid.",
         ("What causes acoustic shadowing on ultrasound?", "What is posterior acoustic enhancement?",
          "Why does a stone cast a shadow on ultrasound?")),
        ("MRI safety", "Some implants, such as older pacemakers or some aneurysm clips, are unsafe in an MRI scanner; "
         "every device's MR safety status must be checked first.",
         ("Which implants are a problem in MRI?", "Why must implants be checked before MRI?",
          "Can a patient with a pacemaker have an MRI?")),
        ("CT windowing", "CT window width and level set which attenuation range fills the grey scale; lung, soft "
         "tissue and bone windows each suit different tissues.",
         ("What is CT windowing?", "Why are lung and bone windows used in CT?",
          "What do window width and level control?")),
    ),
}
