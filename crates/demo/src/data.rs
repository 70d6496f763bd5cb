//! Reference data for the demo group: brands, series and models with their maintenance
//! schedules (typical of each maker's handbook), cities, names, parts and labour.

pub struct ModelSpec {
    pub code: &'static str,
    pub name: &'static str,
    pub price_yuan: i64,
}

pub struct SeriesSpec {
    pub name: &'static str,
    pub models: &'static [ModelSpec],
}

pub struct BrandSpec {
    pub name: &'static str,
    pub name_en: &'static str,
    /// WMI used for the demo VINs of this brand (China-built: starts with L).
    pub wmi: &'static str,
    /// (first service km, first service months, interval km, interval months)
    pub schedule: (i64, i64, i64, i64),
    pub series: &'static [SeriesSpec],
}

macro_rules! m {
    ($code:literal, $name:literal, $price:literal) => {
        ModelSpec {
            code: $code,
            name: $name,
            price_yuan: $price,
        }
    };
}

pub const BRANDS: &[BrandSpec] = &[
    BrandSpec {
        name: "北京现代",
        name_en: "Beijing Hyundai",
        wmi: "LBE",
        schedule: (5000, 6, 7500, 6),
        series: &[
            SeriesSpec {
                name: "伊兰特",
                models: &[
                    m!("BH-ELA-15", "伊兰特 1.5L 精英版", 99_800),
                    m!("BH-ELA-15T", "伊兰特 1.5T 旗舰版", 129_800),
                ],
            },
            SeriesSpec {
                name: "途胜L",
                models: &[
                    m!("BH-TUC-15T", "途胜L 1.5T 两驱", 159_800),
                    m!("BH-TUC-20T", "途胜L 2.0T 四驱", 209_800),
                ],
            },
            SeriesSpec {
                name: "索纳塔",
                models: &[m!("BH-SON-15T", "索纳塔 1.5T 豪华版", 169_800)],
            },
        ],
    },
    BrandSpec {
        name: "一汽-大众",
        name_en: "FAW-Volkswagen",
        wmi: "LFV",
        schedule: (7500, 6, 10000, 12),
        series: &[
            SeriesSpec {
                name: "速腾",
                models: &[
                    m!("FV-SAG-200", "速腾 200TSI 舒适版", 139_900),
                    m!("FV-SAG-300", "速腾 300TSI 豪华版", 169_900),
                ],
            },
            SeriesSpec {
                name: "迈腾",
                models: &[m!("FV-MAG-330", "迈腾 330TSI 领先版", 209_900)],
            },
            SeriesSpec {
                name: "探岳",
                models: &[
                    m!("FV-TAY-280", "探岳 280TSI 两驱", 199_900),
                    m!("FV-TAY-380", "探岳 380TSI 四驱", 259_900),
                ],
            },
        ],
    },
    BrandSpec {
        name: "广汽丰田",
        name_en: "GAC Toyota",
        wmi: "LVG",
        schedule: (5000, 6, 5000, 6),
        series: &[
            SeriesSpec {
                name: "凯美瑞",
                models: &[
                    m!("GT-CAM-20", "凯美瑞 2.0G 豪华版", 179_800),
                    m!("GT-CAM-25H", "凯美瑞 2.5HE 双擎", 219_800),
                ],
            },
            SeriesSpec {
                name: "雷凌",
                models: &[m!("GT-LEV-15", "雷凌 1.5L 领先版", 113_800)],
            },
            SeriesSpec {
                name: "汉兰达",
                models: &[m!("GT-HIG-25H", "汉兰达 2.5L 双擎四驱", 279_800)],
            },
        ],
    },
    BrandSpec {
        name: "上汽通用别克",
        name_en: "SAIC-GM Buick",
        wmi: "LSG",
        schedule: (5000, 6, 10000, 12),
        series: &[
            SeriesSpec {
                name: "英朗",
                models: &[m!("SB-EXC-15", "英朗 1.5L 精英型", 99_900)],
            },
            SeriesSpec {
                name: "君威",
                models: &[m!("SB-REG-20T", "君威 20T 豪华型", 179_900)],
            },
            SeriesSpec {
                name: "GL8",
                models: &[m!("SB-GL8-25T", "GL8 ES陆尊 653T", 299_900)],
            },
        ],
    },
];

/// (city, plate prefix, province code, city code)
pub const CITIES: &[(&str, &str, &str, &str)] = &[
    ("上海", "沪A", "310000", "310100"),
    ("杭州", "浙A", "330000", "330100"),
    ("宁波", "浙B", "330000", "330200"),
    ("南京", "苏A", "320000", "320100"),
    ("苏州", "苏E", "320000", "320500"),
    ("无锡", "苏B", "320000", "320200"),
    ("合肥", "皖A", "340000", "340100"),
    ("温州", "浙C", "330000", "330300"),
];

/// Six-digit address codes matching CITIES, for resident ID numbers.
pub const ID_REGIONS: &[&str] = &[
    "310101", "330102", "330203", "320102", "320505", "320211", "340102", "330302",
];

pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "欧阳", "司马",
];

pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "建国", "志强", "海燕", "婷", "雪", "浩", "宇",
    "子轩", "欣怡", "梓涵", "晨", "鹏", "辉", "玲", "斌", "晓东", "文", "立", "俊", "红", "飞",
    "丹", "琳", "凯", "博", "思远", "嘉怡",
];

pub const COMPANY_WORDS: &[&str] = &[
    "华东",
    "恒通",
    "瑞丰",
    "新世纪",
    "金桥",
    "宏达",
    "鼎盛",
    "锦程",
    "天成",
    "申达",
];
pub const COMPANY_KINDS: &[&str] = &[
    "物流有限公司",
    "建设工程有限公司",
    "贸易有限公司",
    "科技有限公司",
    "汽车租赁有限公司",
    "医药有限公司",
];

pub const COLOURS: &[&str] = &["珍珠白", "星空黑", "钛金灰", "冰川银", "宝石蓝", "魅力红"];
pub const INSURERS: &[&str] = &[
    "中国人保财险",
    "平安产险",
    "太平洋产险",
    "中华联合",
    "大地保险",
];
pub const OCCUPATIONS: &[&str] = &[
    "企业职员",
    "私营业主",
    "公务员",
    "教师",
    "医生",
    "工程师",
    "自由职业",
    "销售",
];
pub const INDUSTRIES: &[&str] = &[
    "制造业",
    "金融",
    "互联网",
    "教育",
    "医疗",
    "建筑",
    "批发零售",
    "物流",
];

pub const ONLINE_PLATFORMS: &[&str] = &["汽车之家", "懂车帝", "易车", "太平洋汽车"];
pub const COMPETITORS: &[(&str, &str)] = &[
    ("比亚迪", "秦PLUS"),
    ("吉利", "星越L"),
    ("本田", "雅阁"),
    ("日产", "轩逸"),
    ("特斯拉", "Model Y"),
    ("长安", "CS75 PLUS"),
];

pub const COMPLAINT_CATEGORIES: &[&str] = &[
    "维修质量",
    "服务态度",
    "等待时间",
    "收费争议",
    "配件缺货",
    "交车延误",
];
