"""Radiology facts, part two: breast, musculoskeletal, hepatobiliary, vascular,
gastrointestinal.

Written for this project in our own words (nothing copied from Radiopaedia or any
other source); general textbook knowledge, simplified, and not clinical guidance.
"""

from __future__ import annotations

from lab.demo.synthetic.knowledge_facts_a import Fact

FACTS_B: dict[str, tuple[Fact, ...]] = {
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
}
