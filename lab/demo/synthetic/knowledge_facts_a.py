"""Radiology facts, part one: chest, cardiac, central nervous system, urogenital, oncology.

Written for this project in our own words (nothing copied from Radiopaedia or any
other source); general textbook knowledge, simplified, and not clinical guidance.
Each fact is (article, answer, questions that the answer answers).
"""

from __future__ import annotations

Fact = tuple[str, str, tuple[str, ...]]

FACTS_A: dict[str, tuple[Fact, ...]] = {
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
}
