//! The fixed vocabulary of the synthetic factory: an assembly-and-test plant.

pub struct Workcenter {
    pub id: &'static str,
    pub name: &'static str,
    /// Relative share of the tool fleet.
    pub tool_share: u32,
    /// Relative share of the lots waiting or running here.
    pub wip_share: u32,
    pub models: &'static [&'static str],
}

#[rustfmt::skip]
pub const WORKCENTERS: &[Workcenter] = &[
    Workcenter { id: "SAW", name: "Wafer Saw", tool_share: 6, wip_share: 7, models: &["Dicer DS-3", "Dicer DS-5"] },
    Workcenter { id: "DA", name: "Die Attach", tool_share: 12, wip_share: 11, models: &["Bonder DB-80", "Bonder DB-90"] },
    Workcenter { id: "WB", name: "Wire Bond", tool_share: 25, wip_share: 18, models: &["Wire Bonder WB-7", "Wire Bonder WB-9"] },
    Workcenter { id: "MOLD", name: "Molding", tool_share: 8, wip_share: 10, models: &["Press MP-4", "Press MP-6"] },
    Workcenter { id: "PMC", name: "Post Mold Cure", tool_share: 4, wip_share: 6, models: &["Cure Oven CO-2"] },
    Workcenter { id: "MARK", name: "Laser Mark", tool_share: 5, wip_share: 6, models: &["Laser LM-3"] },
    Workcenter { id: "PLAT", name: "Plating", tool_share: 4, wip_share: 7, models: &["Plating Line PL-1"] },
    Workcenter { id: "TF", name: "Trim & Form", tool_share: 6, wip_share: 7, models: &["Trim Form TF-5"] },
    Workcenter { id: "FT", name: "Final Test", tool_share: 20, wip_share: 15, models: &["Tester T-2000", "Tester T-750", "Handler H-3"] },
    Workcenter { id: "FVI", name: "Final Visual Inspection", tool_share: 6, wip_share: 7, models: &["Vision AOI-5"] },
    Workcenter { id: "PACK", name: "Pack", tool_share: 4, wip_share: 6, models: &["Tape & Reel TR-5"] },
];

pub struct Package {
    pub id: &'static str,
    pub family: &'static str,
    /// Units per lot, inclusive range.
    pub quantity: (i64, i64),
}

#[rustfmt::skip]
pub const PACKAGES: &[Package] = &[
    Package { id: "SOT-23", family: "SOT", quantity: (10_000, 48_000) },
    Package { id: "SOP-8", family: "SOP", quantity: (4_000, 20_000) },
    Package { id: "TSSOP-20", family: "SOP", quantity: (3_000, 12_000) },
    Package { id: "DFN-8", family: "DFN", quantity: (5_000, 25_000) },
    Package { id: "QFN-32", family: "QFN", quantity: (2_000, 10_000) },
    Package { id: "QFN-48", family: "QFN", quantity: (1_500, 8_000) },
    Package { id: "LQFP-100", family: "QFP", quantity: (800, 4_000) },
    Package { id: "QFP-64", family: "QFP", quantity: (1_000, 5_000) },
    Package { id: "BGA-256", family: "BGA", quantity: (400, 2_000) },
    Package { id: "TO-220", family: "TO", quantity: (1_000, 6_000) },
];

pub const PRODUCT_FAMILIES: &[&str] = &[
    "MCU", "PMIC", "LDO", "OPAMP", "ADC", "DRV", "MOSFET", "SENSOR", "EEPROM", "IFACE",
];

pub const HOLD_REASONS: &[&str] = &[
    "Quality hold: visual defect",
    "Engineering hold: process deviation",
    "Customer hold",
    "Equipment abnormal",
    "Material shortage",
    "Low yield",
    "Out of spec measurement",
    "Waiting for disposition",
];

pub struct State {
    pub code: &'static str,
    pub weight: u32,
    pub mean_minutes: f64,
    pub reasons: &'static [&'static str],
}

/// SEMI E10 states with how often a tool enters each and how long it stays.
#[rustfmt::skip]
pub const STATES: &[State] = &[
    State { code: "PRD", weight: 55, mean_minutes: 360.0, reasons: &[] },
    State { code: "SBY", weight: 22, mean_minutes: 120.0, reasons: &["Waiting for lot", "Waiting for material", "Waiting for operator"] },
    State { code: "UDT", weight: 9, mean_minutes: 150.0, reasons: &["Bond head alarm", "Vacuum fault", "Vision error", "Handler jam", "Temperature alarm"] },
    State { code: "SDT", weight: 7, mean_minutes: 240.0, reasons: &["Preventive maintenance", "Calibration", "Consumable change"] },
    State { code: "EGT", weight: 4, mean_minutes: 180.0, reasons: &["Process qualification", "Recipe tuning"] },
    State { code: "NST", weight: 3, mean_minutes: 480.0, reasons: &["Not scheduled", "No operator on shift"] },
];
