//! The fixed vocabulary of the synthetic factory: an assembly-and-test plant in Taiwan, named as
//! its engineers name things (Chinese workcenter, step, reason and department names; short
//! ASCII ids where URLs and filters carry them). The demo simulator draws from it too.

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

pub struct Workcenter {
    /// Short id, stable in URLs and tests (`WB`).
    pub id: &'static str,
    pub name: &'static str,
    /// The workcenter group (several workcenters each; ordered by `GROUPS`).
    pub group: &'static str,
    /// Relative share of the tool fleet.
    pub tool_share: u32,
    /// Relative share of the lots waiting or running here.
    pub wip_share: u32,
    /// Steps in route order: (step code, name). Codes of QC gates contain `QC` and `GATE`.
    pub steps: &'static [(&'static str, &'static str)],
}

/// Workcenter groups in their own order.
pub const GROUPS: &[&str] = &["切割", "焊接", "成型", "電鍍", "測試", "包裝"];

#[rustfmt::skip]
pub const WORKCENTERS: &[Workcenter] = &[
    Workcenter { id: "SAW", name: "切割", group: "切割", tool_share: 6, wip_share: 7,
        steps: &[("SAW-010", "晶圓貼膜"), ("SAW-020", "晶圓切割"), ("SAW-030", "切割後清洗"), ("SAW-QC-GATE", "切割品檢")] },
    Workcenter { id: "DA", name: "黏晶", group: "焊接", tool_share: 12, wip_share: 11,
        steps: &[("DA-010", "黏晶"), ("DA-020", "銀膠烘烤"), ("DA-QC-GATE", "黏晶品檢")] },
    Workcenter { id: "WB", name: "焊線", group: "焊接", tool_share: 25, wip_share: 18,
        steps: &[("WB-010", "電漿清洗"), ("WB-020", "焊線"), ("WB-030", "焊線檢查"), ("WB-QC-GATE", "焊線品檢")] },
    Workcenter { id: "MOLD", name: "封膠", group: "成型", tool_share: 8, wip_share: 10,
        steps: &[("MOLD-010", "封膠"), ("MOLD-020", "去膠渣")] },
    Workcenter { id: "PMC", name: "烘烤", group: "成型", tool_share: 4, wip_share: 6,
        steps: &[("PMC-010", "封膠後烘烤")] },
    Workcenter { id: "MARK", name: "雷射印字", group: "成型", tool_share: 5, wip_share: 6,
        steps: &[("MARK-010", "雷射印字"), ("MARK-020", "印字檢查")] },
    Workcenter { id: "PLAT", name: "電鍍", group: "電鍍", tool_share: 4, wip_share: 7,
        steps: &[("PLAT-010", "去毛邊"), ("PLAT-020", "電鍍"), ("PLAT-030", "鍍層量測")] },
    Workcenter { id: "TF", name: "剪切成型", group: "電鍍", tool_share: 6, wip_share: 7,
        steps: &[("TF-010", "剪切"), ("TF-020", "成型"), ("TF-QC-GATE", "成型品檢")] },
    Workcenter { id: "FT", name: "最終測試", group: "測試", tool_share: 20, wip_share: 15,
        steps: &[("FT-010", "常溫測試"), ("FT-020", "高溫測試"), ("FT-030", "測試判定"), ("FT-QC-GATE", "測試品檢")] },
    Workcenter { id: "FVI", name: "外觀檢驗", group: "測試", tool_share: 6, wip_share: 7,
        steps: &[("FVI-010", "外觀檢驗"), ("FVI-QC-GATE", "出貨品檢")] },
    Workcenter { id: "PACK", name: "包裝", group: "包裝", tool_share: 4, wip_share: 6,
        steps: &[("PACK-010", "捲帶包裝"), ("PACK-020", "裝箱"), ("PACK-030", "入庫")] },
];

pub struct Package {
    pub id: &'static str,
    /// The package family, which is also the product line the WIP pages group by.
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

/// Product functions (the `function` of a lot); product names start with one.
pub const FUNCTIONS: &[&str] = &[
    "MCU", "PMIC", "LDO", "OPAMP", "ADC", "DRV", "MOSFET", "SENSOR", "EEPROM", "IFACE",
];

/// Lot types with their weights: mass production, engineering, rework, samples.
pub const LOT_TYPES: &[(&str, u32)] = &[("量產", 86), ("工程", 7), ("重工", 4), ("樣品", 3)];

/// Wafer foundries' lot prefixes.
pub const FOUNDRIES: &[&str] = &["TSM", "UMC", "VIS", "PSM"];

pub struct HoldReason {
    pub name: &'static str,
    /// False for the non-quality reasons (`NON_QUALITY_HOLD_REASONS`' default).
    pub quality: bool,
    /// The department that usually holds for this reason.
    pub department: &'static str,
    /// How often it is used, relative to the others.
    pub weight: u32,
    /// Workcenters where it happens; empty: anywhere.
    pub at: &'static [&'static str],
    pub comments: &'static [&'static str],
}

#[rustfmt::skip]
pub const HOLD_REASONS: &[HoldReason] = &[
    HoldReason { name: "外觀不良", quality: true, department: "品保部", weight: 16, at: &[], comments: &["外觀抽檢發現刮傷，待品保判定", "外觀異常 3 顆，擴大抽檢"] },
    HoldReason { name: "焊線不良", quality: true, department: "製程工程部", weight: 10, at: &["WB"], comments: &["拉力測試未達規格", "球徑偏移，待工程確認"] },
    HoldReason { name: "良率異常", quality: true, department: "測試工程部", weight: 12, at: &["FT"], comments: &["測試良率低於 95%，待工程分析", "Bin 8 比例偏高"] },
    HoldReason { name: "尺寸超規", quality: true, department: "品保部", weight: 5, at: &["TF", "FVI"], comments: &["腳長量測超規", "共面度超出規格"] },
    HoldReason { name: "封膠氣泡", quality: true, department: "製程工程部", weight: 6, at: &["MOLD", "PMC"], comments: &["X-ray 發現氣孔", "膠體表面氣泡"] },
    HoldReason { name: "晶片破裂", quality: true, department: "製程工程部", weight: 5, at: &["SAW", "DA"], comments: &["切割後晶片邊緣崩裂", "黏晶後晶片裂痕"] },
    HoldReason { name: "電性異常", quality: true, department: "測試工程部", weight: 8, at: &["FT"], comments: &["開短路測試失效", "漏電流偏高"] },
    HoldReason { name: "印字不良", quality: true, department: "品保部", weight: 4, at: &["MARK"], comments: &["印字模糊", "印字位置偏移"] },
    HoldReason { name: "鍍層異常", quality: true, department: "製程工程部", weight: 4, at: &["PLAT"], comments: &["鍍層厚度不足", "鍍層變色"] },
    HoldReason { name: "異物污染", quality: true, department: "品保部", weight: 6, at: &[], comments: &["發現異物，待清洗確認", "表面殘膠"] },
    HoldReason { name: "製程參數異常", quality: true, department: "製程工程部", weight: 8, at: &[], comments: &["SPC 超出管制界限", "機台參數與規範不符"] },
    HoldReason { name: "客訴追查", quality: true, department: "品保部", weight: 3, at: &[], comments: &["客訴同批追查", "客戶退貨分析中"] },
    HoldReason { name: "工程驗證", quality: false, department: "製程工程部", weight: 8, at: &[], comments: &["新材料驗證批", "新程式驗證中"] },
    HoldReason { name: "指定機台", quality: false, department: "生產管理部", weight: 7, at: &[], comments: &["客戶指定機台生產，等待機台", "限定機台群組"] },
    HoldReason { name: "盤點", quality: false, department: "生產管理部", weight: 4, at: &[], comments: &["月底盤點凍結", "季盤點"] },
    HoldReason { name: "客戶要求", quality: false, department: "業務部", weight: 4, at: &[], comments: &["客戶要求暫停生產", "客戶要求變更出貨順序"] },
    HoldReason { name: "待料", quality: false, department: "生產管理部", weight: 7, at: &[], comments: &["等待導線架到料", "等待膠餅到料"] },
    HoldReason { name: "生管排程", quality: false, department: "生產管理部", weight: 4, at: &[], comments: &["排程調整暫緩投產", "插單調整"] },
    HoldReason { name: "機台保養", quality: false, department: "設備工程部", weight: 3, at: &[], comments: &["機台 PM，批號暫停", "機台校正中"] },
    HoldReason { name: "待工單", quality: false, department: "生產管理部", weight: 2, at: &[], comments: &["工單未開立", "工單數量待確認"] },
    HoldReason { name: "治具不足", quality: false, department: "製造部", weight: 2, at: &[], comments: &["治具送修中", "載具不足"] },
    HoldReason { name: "程式待更新", quality: false, department: "測試工程部", weight: 2, at: &["FT"], comments: &["測試程式版本更新中", "等待程式放行"] },
    HoldReason { name: "人力不足", quality: false, department: "製造部", weight: 1, at: &[], comments: &["夜班人力不足"] },
    HoldReason { name: "出貨暫緩", quality: false, department: "業務部", weight: 2, at: &["FVI", "PACK"], comments: &["等待客戶出貨通知", "客戶庫存調整"] },
];

/// A hold reason that happens at `workcenter`, by weight.
pub fn reason_at(rng: &mut impl Rng, workcenter: &str) -> &'static HoldReason {
    let allowed: Vec<&'static HoldReason> = HOLD_REASONS
        .iter()
        .filter(|r| r.at.is_empty() || r.at.contains(&workcenter))
        .collect();
    let weights = WeightedIndex::new(allowed.iter().map(|r| r.weight))
        .expect("every workcenter has reasons with positive weights");
    allowed[weights.sample(rng)]
}

/// People who hold and release lots, by department.
#[rustfmt::skip]
pub const PEOPLE: &[(&str, &[&str])] = &[
    ("品保部", &["林怡君", "陳建宏", "張雅婷"]),
    ("製程工程部", &["王志明", "李冠廷", "吳俊傑"]),
    ("測試工程部", &["黃淑芬", "劉家豪"]),
    ("生產管理部", &["蔡佩珊", "楊宗翰", "許志偉"]),
    ("製造部", &["鄭雅雯", "謝明哲", "郭俊宏"]),
    ("設備工程部", &["周建志", "洪國華"]),
    ("業務部", &["曾文彬", "邱淑惠"]),
];

/// The people of `department`.
pub fn people_of(department: &str) -> &'static [&'static str] {
    PEOPLE
        .iter()
        .find(|(d, _)| *d == department)
        .map_or(PEOPLE[0].1, |(_, p)| p)
}

pub struct ToolKind {
    pub model: &'static str,
    /// The family (kind of tool) the equipment pages group models under.
    pub family: &'static str,
    pub vendor: &'static str,
}

/// Tool models of each workcenter, with their family and vendor.
#[rustfmt::skip]
pub const TOOL_KINDS: &[(&str, &[ToolKind])] = &[
    ("SAW", &[ToolKind { model: "Dicer DS-3", family: "切割機", vendor: "DISCO" }, ToolKind { model: "Dicer DS-5", family: "切割機", vendor: "DISCO" }]),
    ("DA", &[ToolKind { model: "Bonder DB-80", family: "黏晶機", vendor: "ASM" }, ToolKind { model: "Bonder DB-90", family: "黏晶機", vendor: "Besi" }]),
    ("WB", &[ToolKind { model: "Wire Bonder WB-7", family: "焊線機", vendor: "K&S" }, ToolKind { model: "Wire Bonder WB-9", family: "焊線機", vendor: "ASM" }]),
    ("MOLD", &[ToolKind { model: "Press MP-4", family: "封膠機", vendor: "TOWA" }, ToolKind { model: "Press MP-6", family: "封膠機", vendor: "ASM" }]),
    ("PMC", &[ToolKind { model: "Cure Oven CO-2", family: "烘烤爐", vendor: "C SUN" }]),
    ("MARK", &[ToolKind { model: "Laser LM-3", family: "雷射印字機", vendor: "Han's Laser" }]),
    ("PLAT", &[ToolKind { model: "Plating Line PL-1", family: "電鍍線", vendor: "Meco" }]),
    ("TF", &[ToolKind { model: "Trim Form TF-5", family: "剪切成型機", vendor: "Besi" }]),
    ("FT", &[ToolKind { model: "Tester T-2000", family: "測試機", vendor: "Advantest" }, ToolKind { model: "Tester T-750", family: "測試機", vendor: "Teradyne" }, ToolKind { model: "Handler H-3", family: "分類機", vendor: "Cohu" }]),
    ("FVI", &[ToolKind { model: "Vision AOI-5", family: "外觀檢查機", vendor: "KLA" }]),
    ("PACK", &[ToolKind { model: "Tape & Reel TR-5", family: "捲帶包裝機", vendor: "ISMECA" }]),
];

/// Floors and bays of each workcenter's tools.
#[rustfmt::skip]
pub const LOCATIONS: &[(&str, &[&str])] = &[
    ("SAW", &["3F-A"]), ("DA", &["3F-A", "3F-B"]), ("WB", &["3F-B", "3F-C"]),
    ("MOLD", &["2F-A"]), ("PMC", &["2F-A"]), ("MARK", &["2F-B"]), ("PLAT", &["1F-A"]),
    ("TF", &["2F-B"]), ("FT", &["4F-A", "4F-B"]), ("FVI", &["4F-C"]), ("PACK", &["4F-C"]),
];

/// Package groups a tool is set up for, by the package families they cover.
#[rustfmt::skip]
pub const PACKAGE_GROUPS: &[(&str, &[&str])] = &[
    ("SOT/SOP", &["SOT", "SOP"]), ("QFN/DFN", &["QFN", "DFN"]), ("QFP", &["QFP"]),
    ("BGA", &["BGA"]), ("TO", &["TO"]),
];

/// The package group of a package family.
pub fn package_group_of(family: &str) -> &'static str {
    PACKAGE_GROUPS
        .iter()
        .find(|(_, families)| families.contains(&family))
        .map_or(PACKAGE_GROUPS[0].0, |(g, _)| g)
}

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
    State { code: "SBY", weight: 22, mean_minutes: 120.0, reasons: &["等待批號", "等待物料", "等待人員"] },
    State { code: "UDT", weight: 9, mean_minutes: 150.0, reasons: &["焊頭異常", "真空異常", "影像辨識錯誤", "卡料", "溫度異常"] },
    State { code: "SDT", weight: 7, mean_minutes: 240.0, reasons: &["定期保養", "校正", "更換耗材"] },
    State { code: "EGT", weight: 4, mean_minutes: 180.0, reasons: &["製程驗證", "程式調整"] },
    State { code: "NST", weight: 3, mean_minutes: 480.0, reasons: &["未排產", "無人員排班"] },
];

/// The reasons of an E10 state (empty for production).
pub fn state_reasons(code: &str) -> &'static [&'static str] {
    STATES
        .iter()
        .find(|s| s.code == code)
        .map_or(&[], |s| s.reasons)
}

/// Symptom codes of maintenance jobs, by the UDT reason that raised them.
#[rustfmt::skip]
pub const SYMPTOMS: &[(&str, &str)] = &[
    ("焊頭異常", "S01 焊頭異常"), ("真空異常", "S02 真空異常"), ("影像辨識錯誤", "S03 影像辨識錯誤"),
    ("卡料", "S04 卡料"), ("溫度異常", "S05 溫度異常"),
];

/// The symptom code for a tool down for `reason`.
pub fn symptom_of(reason: Option<&str>) -> &'static str {
    SYMPTOMS
        .iter()
        .find(|(r, _)| Some(*r) == reason)
        .map_or("S99 其他異常", |(_, code)| code)
}

pub const CAUSES: &[&str] = &[
    "C01 零件磨耗",
    "C02 吸嘴堵塞",
    "C03 感測器故障",
    "C04 參數漂移",
    "C05 操作不當",
    "C06 電源異常",
    "C07 氣壓不足",
];

pub const REPAIRS: &[&str] = &[
    "R01 更換零件",
    "R02 清潔保養",
    "R03 參數調整",
    "R04 重新校正",
    "R05 軟體重置",
    "R06 更換感測器",
];

/// Equipment technicians who take maintenance jobs.
pub const TECHNICIANS: &[&str] = &["周建志", "洪國華", "邱志豪", "謝宗霖", "蘇建銘", "潘俊男"];

/// Maintenance job statuses, in the order a job goes through them, with the stage each starts
/// in. A job waiting for parts goes back to `IN_PROGRESS` when they arrive.
#[rustfmt::skip]
pub const JOB_STATUSES: &[(&str, &str)] = &[
    ("OPEN", "報修"), ("IN_PROGRESS", "診斷"), ("WAIT_PARTS", "待料"), ("WAIT_VERIFY", "驗機"),
    ("DONE", "結案"), ("CANCELLED", "取消"),
];

/// Hold reasons that are not about quality: the default of `NON_QUALITY_HOLD_REASONS`.
pub fn non_quality_reasons() -> impl Iterator<Item = &'static str> {
    HOLD_REASONS.iter().filter(|r| !r.quality).map(|r| r.name)
}
