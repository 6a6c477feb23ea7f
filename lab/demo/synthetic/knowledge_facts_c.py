"""Radiology facts, part three: obstetrics, interventional, trauma, spine, forensic,
and not specified (physics, contrast and safety).

Written for this project in our own words (nothing copied from Radiopaedia or any
other source); general textbook knowledge, simplified, and not clinical guidance.
"""

from __future__ import annotations

from lab.demo.synthetic.knowledge_facts_a import Fact

FACTS_C: dict[str, tuple[Fact, ...]] = {
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
