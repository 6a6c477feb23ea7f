"""Tubes, lines and devices: how reports phrase them and where their tips lie.

Each DeviceSpec is one Chest ImaGenome tubes/lines or device label. A device with
positions has `places` (where its tip lies, "{cm} cm above the carina") each with the
verbs that read naturally before it ("courses below the diaphragm, tip not
visualized", never "terminates below the diaphragm, tip not visualized"); every one
of its templates states the place, so a question about the position is always
answerable from the text. Template group keys are `dev:<label>`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lab.demo.synthetic.finding_types import LR

TERMINATE = ("terminates", "ends", "has its tip")
CVC_PLACES = (("in the mid SVC", TERMINATE), ("in the low SVC", TERMINATE),
              ("at the cavoatrial junction", TERMINATE), ("in the right atrium", TERMINATE),
              ("in the upper SVC", TERMINATE))


@dataclass(frozen=True)
class DeviceSpec:
    label: str
    templates: tuple[str, ...]
    name: str                                   # what questions and impressions call it
    ask: str                                    # with its article, for "Is there ...?"
    sides: tuple[str, ...] = ("",)
    places: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cm: tuple[float, float] = (0.0, 0.0)        # range of {cm} in a place
    weight: float = 1.0
    line: bool = True                           # a tube or line: the impression reports it
    malpositioned: tuple[str, ...] = ()         # places that call for advice


@dataclass(frozen=True)
class Device:
    label: str
    side: str = ""
    place: str = ""
    verb: str = ""

    def slots(self) -> dict[str, str]:
        return {"side": self.side, "sided": f"{self.side}-sided" if self.side else "",
                "place": self.place, "verb": self.verb}


D = DeviceSpec
DEVICE_SPECS: tuple[DeviceSpec, ...] = (
    D("endotracheal tube", (
        "The endotracheal tube {verb} {place}.",
        "Endotracheal tube {verb} {place}.",
        "An ET tube is in place and {verb} {place}.",
        "ETT {verb} {place}.",
        "The endotracheal tube is present, with its tip {place}.",
        "Endotracheal tube in place with the tip {place}.",
    ), "endotracheal tube", "an endotracheal tube",
      places=(("{cm} cm above the carina", TERMINATE),) * 8 + (("at the level of the carina", TERMINATE),
              ("in the right mainstem bronchus", TERMINATE), ("at the thoracic inlet", TERMINATE)),
      cm=(2.0, 6.5), weight=3,
      malpositioned=("at the level of the carina", "in the right mainstem bronchus", "at the thoracic inlet")),
    D("tracheostomy tube", (
        "Tracheostomy tube is {place}.",
        "A tracheostomy tube is seen {place}.",
        "The tracheostomy tube lies {place}.",
        "Trach tube is {place}.",
    ), "tracheostomy tube", "a tracheostomy tube",
      places=(("in standard position", ("is",)), ("in appropriate position", ("is",)), ("in the midline", ("is",))),
      weight=1),
    D("enteric tube", (
        "Enteric tube {verb} {place}.",
        "The nasogastric tube {verb} {place}.",
        "An orogastric tube {verb} {place}.",
        "A feeding tube is present and {verb} {place}.",
        "NG tube {verb} {place}.",
        "Dobhoff tube {verb} {place}.",
    ), "enteric tube", "an enteric tube",
      places=(("below the diaphragm, tip not visualized", ("courses", "extends", "passes")),
              ("in the stomach", TERMINATE), ("in the stomach", TERMINATE),
              ("in the distal esophagus", ("terminates", "ends")), ("in the duodenum", ("terminates", "extends"))),
      weight=3, malpositioned=("in the distal esophagus",)),
    D("ij line", (
        "{side} internal jugular central venous catheter {verb} {place}.",
        "{side} IJ line {verb} {place}.",
        "A {side} internal jugular line {verb} {place}.",
        "{side} IJ catheter {verb} {place}.",
        "{sided} internal jugular catheter {verb} {place}.",
        "The {side} IJ central line {verb} {place}.",
    ), "internal jugular line", "an internal jugular line", sides=("right", "right", "right", "left"),
      places=CVC_PLACES, weight=2.5),
    D("picc", (
        "{side} PICC {verb} {place}.",
        "{side} PICC line {verb} {place}.",
        "A {sided} PICC line {verb} {place}.",
        "{side} arm PICC {verb} {place}.",
        "The {side} peripherally inserted central catheter {verb} {place}.",
    ), "PICC line", "a PICC line", sides=LR, places=CVC_PLACES, weight=2.5),
    D("subclavian line", (
        "{side} subclavian line {verb} {place}.",
        "{side} subclavian catheter {verb} {place}.",
        "A {side} subclavian central line {verb} {place}.",
        "{sided} subclavian venous catheter {verb} {place}.",
    ), "subclavian line", "a subclavian line", sides=LR, places=CVC_PLACES, weight=0.8),
    D("chest port", (
        "{side} chest wall port with catheter tip {place}.",
        "{side} Port-A-Cath {verb} {place}.",
        "A {sided} power port has its catheter tip {place}.",
        "{side} chest port catheter {verb} {place}.",
    ), "chest port", "a chest port", sides=("right", "right", "left"),
      places=CVC_PLACES[:3], weight=1.2),
    D("swan-ganz catheter", (
        "Swan-Ganz catheter {verb} {place}.",
        "The pulmonary artery catheter {verb} {place}.",
        "A Swan-Ganz catheter is present with its tip {place}.",
        "PA catheter {verb} {place}.",
    ), "Swan-Ganz catheter", "a Swan-Ganz catheter",
      places=tuple((p, TERMINATE) for p in ("in the right pulmonary artery", "in the main pulmonary artery",
                                            "in the right interlobar pulmonary artery",
                                            "in the left pulmonary artery")), weight=0.6),
    D("intra-aortic balloon pump", (
        "Intra-aortic balloon pump {verb} {place}.",
        "The IABP tip is {place}.",
        "An intra-aortic balloon pump is seen, with its tip {place}.",
        "Balloon pump {verb} {place}.",
    ), "intra-aortic balloon pump", "an intra-aortic balloon pump",
      places=(("{cm} cm below the aortic knob", TERMINATE),) * 3 + (("at the level of the aortic knob", TERMINATE),),
      cm=(1.0, 4.0), weight=0.3),
    D("chest tube", (
        "{side} chest tube {verb} {place}.",
        "A {sided} chest tube {verb} {place}.",
        "{side} pleural drain {verb} {place}.",
        "{side} thoracostomy tube {verb} {place}.",
    ), "chest tube", "a chest tube", sides=LR,
      places=tuple((p, TERMINATE) for p in ("at the apex", "at the lung base", "in the mid hemithorax",
                                            "along the lateral chest wall")), weight=1.2),
    D("pigtail catheter", (
        "{side} pigtail catheter {verb} {place}.",
        "{side} pigtail drain {verb} {place}.",
        "A {sided} pigtail catheter {verb} {place}.",
        "A {side} basilar pigtail catheter {verb} {place}.",
    ), "pigtail catheter", "a pigtail catheter", sides=LR,
      places=tuple((p, TERMINATE) for p in ("at the lung base", "in the lower hemithorax",
                                            "in the posterior costophrenic sulcus")), weight=0.5),
    D("mediastinal drain", (
        "Mediastinal drains are in place.",
        "A mediastinal drain is present.",
        "Mediastinal and pericardial drains are noted.",
        "Mediastinal tube in place.",
    ), "mediastinal drain", "a mediastinal drain", weight=0.5),
    D("sternotomy wires", (
        "Median sternotomy wires are intact.",
        "The patient is status post median sternotomy.",
        "Sternal wires are noted.",
        "Intact sternotomy wires.",
        "Sternotomy wires are aligned.",
    ), "sternotomy wires", "sternotomy wires", weight=2, line=False),
    D("cabg grafts", (
        "Surgical clips from prior CABG are noted.",
        "There are CABG clips in the mediastinum.",
        "Findings of prior coronary artery bypass graft surgery.",
        "Mediastinal clips from prior CABG are seen.",
    ), "CABG grafts", "CABG grafts", weight=1.2, line=False),
    D("prosthetic valve", (
        "A prosthetic valve is noted.",
        "Status post aortic valve replacement.",
        "A mechanical valve is seen.",
        "Prosthetic heart valve is in place.",
    ), "prosthetic valve", "a prosthetic valve", weight=1, line=False),
    D("aortic graft/repair", (
        "Aortic stent graft is noted.",
        "Changes of prior endovascular aortic repair.",
        "An aortic graft is present.",
        "TEVAR is in place.",
    ), "aortic graft", "an aortic graft", weight=0.4, line=False),
    D("cardiac pacer and wires", (
        "{side} chest wall pacemaker with leads {place}.",
        "A {sided} pacer has leads {place}.",
        "{side} pectoral pacemaker leads terminate {place}.",
        "{side} AICD with leads {place}.",
        "{side} chest wall pacer with leads {place}.",
    ), "pacemaker", "a pacemaker", sides=("left", "left", "right"),
      places=tuple((p, ("with leads",)) for p in ("in the right atrium and right ventricle", "in the right ventricle",
                                                   "in the right atrium, right ventricle, and coronary sinus")),
      weight=2, line=False),
)
DEVICES: dict[str, DeviceSpec] = {spec.label: spec for spec in DEVICE_SPECS}


def sample_device(spec: DeviceSpec, rng: random.Random) -> Device:
    side = rng.choice(spec.sides)
    if not spec.places:
        return Device(spec.label, side)
    place, verbs = rng.choice(spec.places)
    if "{cm}" in place:
        place = place.replace("{cm}", f"{rng.uniform(*spec.cm):.1f}")
    return Device(spec.label, side, place, rng.choice(verbs))


def is_malpositioned(device: Device) -> bool:
    return device.place in DEVICES[device.label].malpositioned
