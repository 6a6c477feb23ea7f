"""The catalogue of cardiac, mediastinal, osseous and upper-abdominal findings.

Written for this project, with the same rules as catalog_lungs: each positive template
names its label by a word `radphi.labels.canonical` knows (or a listed cue) and
states the side, level and severity whenever the finding has them.
"""

from __future__ import annotations

from lab.demo.synthetic.finding_types import (
    GRADE,
    LEVELS,
    LR,
    LRB,
    RIBS,
    SIZE,
)
from lab.demo.synthetic.finding_types import (
    FindingSpec as F,
)

OTHER_SPECS: tuple[F, ...] = (
    F("enlarged cardiac silhouette", "heart", (
        "{sev} cardiomegaly.",
        "There is {sev} cardiomegaly.",
        "The heart is {sevly} enlarged.",
        "The cardiac silhouette is {sevly} enlarged.",
        "Heart size is {sevly} enlarged.",
        "{sev} cardiac enlargement is present.",
        "{sev} enlargement of the cardiac silhouette.",
    ), "{sev} cardiomegaly", "cardiomegaly", scale=GRADE, regions=("cardiac silhouette",),
      weight=6, cues=("enlarged", "enlargement")),
    F("pericardial effusion", "heart", (
        "The globular cardiac contour raises concern for pericardial effusion.",
        "Findings suggest a pericardial effusion.",
        "A pericardial effusion is suspected.",
        "Possible pericardial effusion.",
    ), "pericardial effusion", "pericardial effusion", regions=("cardiac silhouette",), weight=0.5),
    F("mediastinal displacement", "mediastinum", (
        "There is mediastinal shift to the {side}.",
        "Shift of the mediastinum to the {side} is noted.",
        "Tracheal deviation to the {side}.",
        "Mediastinal shift toward the {side} is present.",
    ), "mediastinal shift to the {side}", "mediastinal shift", sides=LR, regions=("mediastinum",),
      weight=0.5),
    F("mediastinal widening", "mediastinum", (
        "There is widening of the mediastinum.",
        "Widened mediastinum.",
        "Mediastinal widening is noted.",
        "A wide mediastinum is seen.",
    ), "mediastinal widening", "mediastinal widening", regions=("mediastinum",), weight=0.6),
    F("enlarged hilum", "mediastinum", (
        "{side} hilar enlargement.",
        "There is {side} hilar prominence.",
        "{side} hilar adenopathy is suspected.",
        "{side} hilar lymphadenopathy.",
        "{side} hilar enlargement is noted.",
    ), "{side} hilar enlargement", "hilar enlargement", sides=LRB, regions=("{side} hilar structures",),
      weight=1),
    F("tortuous aorta", "mediastinum", (
        "Tortuous aorta.",
        "There is tortuosity of the aorta.",
        "Mild unfolding of the aorta.",
        "Aortic tortuosity is noted.",
        "The aorta is tortuous.",
    ), "tortuous aorta", "tortuous aorta", regions=("aortic arch",), weight=3, acute=False,
      cues=("tortuous",)),
    F("vascular calcification", "mediastinum", (
        "Aortic calcification is noted.",
        "Atherosclerotic calcification of the aortic knob.",
        "Aortic knob calcification.",
        "There is aortic atherosclerosis.",
        "Mild aortic calcification is present.",
    ), "aortic calcification", "aortic calcification", regions=("aortic arch",), weight=3,
      acute=False),
    F("pneumomediastinum", "mediastinum", (
        "There is pneumomediastinum.",
        "Pneumomediastinum is present.",
        "Air tracks along the mediastinum, compatible with pneumomediastinum.",
        "Mediastinal emphysema is noted.",
    ), "pneumomediastinum", "pneumomediastinum", regions=("mediastinum",), weight=0.4),
    F("superior mediastinal mass/enlargement", "mediastinum", (
        "There is a superior mediastinal mass.",
        "Superior mediastinal enlargement.",
        "A mediastinal mass is seen superiorly.",
        "A superior mediastinal mass displaces the trachea.",
    ), "superior mediastinal mass", "superior mediastinal mass", regions=("upper mediastinum",),
      weight=0.4),
    F("goiter", "mediastinum", (
        "A thyroid goiter displaces the trachea.",
        "A goiter is seen.",
        "An enlarged thyroid narrows the trachea.",
        "Known goiter is noted.",
        "Thyromegaly.",
    ), "goiter", "goiter", regions=("upper mediastinum",), weight=0.4),
    F("rib fracture", "bones", (
        "{side} {detail} rib fracture.",
        "There is a nondisplaced {side} {detail} rib fracture.",
        "A displaced {side} {detail} rib fracture is seen.",
        "Acute {side} {detail} rib fracture.",
        "A healing {side} {detail} rib fracture is noted.",
    ), "{side} {detail} rib fracture", "rib fracture", sides=LR, details=RIBS, regions=("{side} lung",),
      weight=1.2),
    F("clavicle fracture", "bones", (
        "{side} clavicle fracture.",
        "A {side} clavicular fracture is noted.",
        "Healed {side} clavicle fracture.",
        "A displaced {side} clavicle fracture is seen.",
    ), "{side} clavicle fracture", "clavicle fracture", sides=LR, regions=("{side} clavicle",), weight=0.4),
    F("spinal fracture", "bones", (
        "{detail} compression fracture.",
        "There is a compression fracture of the {detail} vertebral body.",
        "Mild {detail} vertebral compression fracture.",
        "A {detail} vertebral body fracture is seen.",
    ), "{detail} compression fracture", "compression fracture", details=LEVELS, regions=("spine",),
      weight=0.8),
    F("scoliosis", "bones", (
        "{sev} scoliosis of the thoracic spine.",
        "There is {sev} thoracolumbar scoliosis.",
        "{sev} dextroscoliosis.",
        "{sev} levoscoliosis is noted.",
        "The thoracic spine shows {sev} scoliosis.",
    ), "{sev} scoliosis", "scoliosis", scale=GRADE, regions=("spine",), weight=1.5, acute=False),
    F("spinal degenerative changes", "bones", (
        "{sev} degenerative changes of the spine.",
        "{sev} degenerative changes in the spine are seen.",
        "{sev} thoracic spondylosis.",
        "There is {sev} spondylosis.",
        "{sev} degenerative disc disease of the thoracic spine.",
    ), "{sev} degenerative changes of the spine", "degenerative changes of the spine", scale=GRADE,
      regions=("spine",), weight=3, acute=False),
    F("shoulder osteoarthritis", "bones", (
        "{side} glenohumeral osteoarthritis.",
        "{side} shoulder osteoarthritis.",
        "{side} acromioclavicular osteoarthritis is noted.",
        "{side} shoulder arthritis is seen.",
    ), "{side} shoulder osteoarthritis", "shoulder osteoarthritis", sides=LRB, regions=("{side} clavicle",),
      weight=1, acute=False),
    F("bone lesion", "bones", (
        "A sclerotic lesion is seen in the {detail} vertebral body.",
        "A lytic lesion is present in the {detail} vertebral body.",
        "There is a bony lesion at {detail}.",
        "An osseous lesion involves {detail}.",
    ), "{detail} bone lesion", "bone lesion", details=LEVELS, regions=("spine",), weight=0.5),
    F("elevated hemidiaphragm", "abdomen", (
        "Elevated {side} hemidiaphragm.",
        "The {side} hemidiaphragm is elevated.",
        "There is elevation of the {side} hemidiaphragm.",
        "Mild elevation of the {side} hemidiaphragm is noted.",
    ), "elevated {side} hemidiaphragm", "elevated hemidiaphragm", sides=LR,
      regions=("{side} hemidiaphragm",), weight=1.5, cues=("elevat",)),
    F("diaphragmatic eventration (benign)", "abdomen", (
        "Eventration of the {side} hemidiaphragm.",
        "{side} diaphragmatic eventration.",
        "A focal eventration of the {side} hemidiaphragm is noted.",
        "Benign {side} diaphragmatic eventration is seen.",
    ), "{side} diaphragmatic eventration", "diaphragmatic eventration", sides=LR,
      regions=("{side} hemidiaphragm",), weight=0.4, acute=False),
    F("sub-diaphragmatic air", "abdomen", (
        "There is free air under the {side} hemidiaphragm{s}.",
        "Free intraperitoneal air is seen beneath the {side} hemidiaphragm{s}.",
        "{side} subdiaphragmatic free air.",
        "Free air is present below the {side} hemidiaphragm{s}.",
    ), "free air under the {side} hemidiaphragm{s}", "free air under the diaphragm", sides=LRB,
      regions=("{side} hemidiaphragm",), weight=0.4),
    F("subcutaneous air", "abdomen", (
        "Subcutaneous emphysema in the {side} chest wall.",
        "{side} chest wall subcutaneous emphysema.",
        "Subcutaneous gas along the {side} chest wall.",
        "There is {side} subcutaneous air.",
    ), "{side} subcutaneous emphysema", "subcutaneous emphysema", sides=LRB, regions=("{side} lung",),
      weight=0.6),
    F("hernia", "abdomen", (
        "There is a {sev} hiatal hernia.",
        "{sev} hiatus hernia.",
        "A {sev} hiatal hernia is present.",
        "{sev} retrocardiac hiatal hernia.",
    ), "{sev} hiatal hernia", "hiatal hernia", scale=SIZE, regions=("mediastinum",), weight=1,
      acute=False),
)
