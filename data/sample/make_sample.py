"""Generate hiercls's small synthetic sample data set.

The sample set is a tiny, fully synthetic stand-in for a real hierarchical
multi-label Chinese news-event corpus, in the PaddleNLP hierarchical text
classification layout. It exists so that tests, demos and smoke runs of the
training / evaluation / prediction pipeline can work without licensed data.

Output (written next to this script):

* ``label.txt``  -- every label, one per line; each level-1 label is followed
  by its level-2 children written as ``父##子``.
* ``train.txt``, ``dev.txt``, ``test.txt`` -- ``text<TAB>label1,label2,...``;
  each line lists level-1 labels first, then level-2 labels.
* ``data.txt``   -- unlabelled texts for prediction demos.

Texts are made from templates and slot fillers with a fixed-seed
``random.Random``, so running ``python3 data/sample/make_sample.py`` reproduces
the committed files byte for byte. Only the Python standard library is used.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

SEED = 20240601
OUT_DIR = Path(__file__).resolve().parent

# (split name, total lines, two-event lines, level-1-only lines)
SPLITS: list[tuple[str, int, int, int]] = [
    ("train", 360, 36, 18),
    ("dev", 80, 8, 4),
    ("test", 80, 8, 4),
]
N_UNLABELLED = 40

# Label tree: level-1 label -> level-2 children (short names).
# Note 科技##发布 and 娱乐##发布 share the child name on purpose.
TREE: dict[str, list[str]] = {
    "体育": ["夺冠", "转会", "退役"],
    "财经": ["上市", "融资", "裁员"],
    "科技": ["发布", "故障", "突破"],
    "社会": ["火灾", "车祸", "判决"],
    "娱乐": ["发布", "获奖", "离婚"],
}

# ---------------------------------------------------------------- slot fillers
SLOTS: dict[str, list[str]] = {
    "team": [
        "北岸雄鹰队",
        "江城猎豹队",
        "海港蓝鲸队",
        "山城火焰队",
        "湖畔飞马队",
        "东湾勇士队",
        "西岭猛虎队",
        "南湖星辰队",
        "云岭雪豹队",
        "滨海巨浪队",
    ],
    "league": [
        "全国女排联赛",
        "CBA联赛",
        "城市足球超级联赛",
        "乒乓球公开赛",
        "羽毛球大师赛",
        "全国游泳锦标赛",
        "田径大奖赛",
        "网球精英赛",
        "电竞职业联赛",
    ],
    "ballgame": ["CBA联赛", "城市足球超级联赛", "全国女排联赛", "手球锦标赛"],
    "foreign": ["西甲", "英超", "NBA", "德甲", "日职联", "意甲"],
    "name": [
        "林晓峰",
        "陈一鸣",
        "赵思远",
        "王若溪",
        "周子航",
        "刘佳宁",
        "孙浩然",
        "何静怡",
        "郑雨桐",
        "邓秋实",
        "许梦凡",
        "高远帆",
        "韩雪晴",
        "宋知南",
        "唐亦舟",
        "方可欣",
        "叶星河",
        "苏明朗",
    ],
    "company": [
        "星河科技",
        "蓝海电子",
        "云帆数据",
        "极光智能",
        "锐思半导体",
        "青禾网络",
        "远山汽车",
        "北辰生物",
        "明途物流",
        "华岭食品",
        "澄光软件",
        "Nexa科技",
    ],
    "exchange": ["科创板", "创业板", "港交所", "纳斯达克", "北交所", "主板"],
    "round": ["天使轮", "A轮", "B轮", "C轮", "D轮", "Pre-IPO轮"],
    "investor": [
        "多家投资机构",
        "一家国有资本基金",
        "海外财团",
        "知名创投基金",
        "产业引导基金",
    ],
    "dept": ["销售", "研发", "客服", "市场", "海外"],
    "city": [
        "杭州",
        "成都",
        "武汉",
        "西安",
        "南京",
        "长沙",
        "青岛",
        "厦门",
        "昆明",
        "合肥",
        "郑州",
        "大连",
        "贵阳",
        "兰州",
    ],
    "product": [
        "折叠屏手机",
        "智能手表",
        "AI芯片",
        "扫地机器人",
        "无人机",
        "VR头显",
        "操作系统",
        "平板电脑",
        "智能音箱",
        "电动汽车",
    ],
    "model": [
        "Nova-X3",
        "Lumi-5",
        "Aero-Pro",
        "Orbit-2",
        "Pixelo-7",
        "Terra-S1",
        "Zen-Max",
        "Halo-9",
    ],
    "service": [
        "云存储",
        "在线支付",
        "地图导航",
        "即时通讯",
        "视频会议",
        "网盘",
        "外卖平台",
    ],
    "field": [
        "量子计算",
        "固态电池",
        "芯片制程",
        "基因编辑",
        "可控核聚变",
        "脑机接口",
        "钙钛矿光伏",
    ],
    "lab": [
        "一家研究所",
        "某高校实验室",
        "国家重点实验室",
        "一支青年科研团队",
        "科学院研究团队",
    ],
    "fireplace": ["仓库", "商场", "工厂", "餐馆", "老旧小区", "物流园", "农贸市场"],
    "road": ["绕城高速", "跨江大桥", "环城路", "机场高速", "沿江大道", "城北隧道"],
    "case": [
        "特大电信诈骗案",
        "非法集资案",
        "受贿案",
        "走私案",
        "网络赌博案",
        "非法采矿案",
    ],
    "crime": ["受贿", "诈骗", "挪用公款", "合同诈骗", "职务侵占"],
    "role": ["原某局局长", "某公司前高管", "一名男子", "某平台创始人", "一名会计"],
    "work": [
        "《夏夜微光》",
        "《远行》",
        "《长河》",
        "《星海回声》",
        "《北方来信》",
        "《第七日》",
        "《风起时》",
        "《雾中灯塔》",
        "《山海之间》",
        "《旧城旧事》",
    ],
    "band": ["Moonlight乐队", "夜航乐队", "白鲸乐队", "Echo乐团", "晨星组合"],
    "festival": ["金枫电影节", "星光电视节", "青年影展", "白沙影视奖"],
    "award": ["最佳男主角", "最佳女主角", "最佳导演", "最佳新人", "最佳编剧"],
    "musicfest": ["海川音乐奖", "华语金曲榜", "城市音乐盛典"],
    "musicaward": ["年度最佳专辑", "最佳作曲", "年度歌曲", "最佳新人歌手"],
}


def _num(lo: int, hi: int) -> Callable[[random.Random], str]:
    """Return a filler that draws an integer in [lo, hi] as text."""
    return lambda rng: str(rng.randint(lo, hi))


NUMS: dict[str, Callable[[random.Random], str]] = {
    "k": _num(2, 9),
    "n": _num(10, 500),
    "pct": _num(5, 60),
    "money": _num(1, 90),
    "years": _num(3, 20),
    "age": _num(29, 41),
    "score1": _num(3, 5),
    "score2": _num(0, 2),
    "price": _num(999, 8999),
    "month": _num(1, 12),
    "day": _num(1, 28),
    "jersey": _num(1, 99),
    "year": _num(2019, 2025),
}

# ------------------------------------------------------------------ templates
TEMPLATES: dict[str, list[str]] = {
    "体育##夺冠": [
        "{team}夺得{league}冠军",
        "{name}在{league}中摘得金牌",
        "{team}{score1}比{score2}击败对手，捧起{ballgame}奖杯",
        "{league}决赛落幕，{team}时隔{years}年再度夺冠",
        "{name}逆转夺冠，收获个人第{k}个{league}冠军",
        "{name}率队夺得{league}{city}站冠军",
    ],
    "体育##转会": [
        "{name}正式加盟{team}",
        "{team}官宣签下{name}，合同期{k}年",
        "转会费{money}00万元，{name}转投{team}",
        "{name}告别{team}，将赴{foreign}效力",
        "{team}完成交易，{name}离队加盟新东家",
        "自由球员{name}与{team}签约",
    ],
    "体育##退役": [
        "{age}岁的{name}宣布退役",
        "{name}告别赛场，结束{years}年职业生涯",
        "伤病困扰，{team}老将{name}宣布挂靴",
        "{name}在{city}举行退役仪式",
        "{team}宣布{jersey}号球衣为{name}永久退役",
        "前{foreign}球员{name}宣布正式退役",
    ],
    "财经##上市": [
        "{company}在{exchange}挂牌上市",
        "{company}IPO获批，拟募资{money}亿元",
        "{company}登陆{exchange}，首日股价上涨{pct}%",
        "{company}正式敲钟，成为{city}今年第{k}家上市企业",
        "{company}通过{exchange}上市聆讯",
    ],
    "财经##融资": [
        "{company}完成{round}融资，金额达{money}亿元",
        "{investor}领投，{company}获{money}亿元{round}融资",
        "{company}宣布完成新一轮融资，估值超{n}亿元",
        "{city}初创企业{company}获得{money}00万元战略投资",
        "{company}获{investor}注资，{round}融资顺利完成",
    ],
    "财经##裁员": [
        "{company}宣布裁员{pct}%",
        "{company}计划裁减约{n}个岗位",
        "业绩下滑，{company}在{city}分部启动裁员",
        "{company}再度裁员，涉及{dept}部门员工{n}人",
        "{company}关闭{city}办公室，裁撤全部{dept}团队",
    ],
    "科技##发布": [
        "{company}发布新款{product}",
        "{company}推出{product}，售价{price}元",
        "{company}召开发布会，{product}正式亮相",
        "对标iPhone，{company}新机{model}今日发布",
        "{company}发布{model}系列{product}",
        "{company}在{city}发布自研{product}",
    ],
    "科技##故障": [
        "{company}服务器宕机，{service}服务中断{k}小时",
        "大量用户反映{company}{service}无法登录",
        "{company}数据中心故障，{city}地区用户受影响",
        "{company}{product}曝出系统漏洞，官方紧急修复",
        "{company}App崩溃{k}小时后恢复",
        "{service}大面积瘫痪，{company}致歉",
    ],
    "科技##突破": [
        "{lab}在{field}领域取得重大突破",
        "{city}{lab}实现{field}关键技术突破",
        "{field}迎来新突破，相关成果登上Nature",
        "{lab}研发新型{field}技术，效率提升{pct}%",
        "我国{field}研究创下{k}项世界纪录",
    ],
    "社会##火灾": [
        "{city}一居民楼发生火灾，{n}人被疏散",
        "{city}一{fireplace}突发大火，消防出动{k}辆消防车",
        "凌晨{city}一{fireplace}起火，暂无人员伤亡",
        "{city}山林火灾明火已扑灭，过火面积{n}亩",
        "{city}{fireplace}火灾致{k}人受伤，起火原因调查中",
    ],
    "社会##车祸": [
        "{city}{road}发生{k}车相撞事故",
        "一辆货车在{city}{road}侧翻，造成{k}人受伤",
        "{city}公交车与轿车相撞，{k}名乘客受轻伤",
        "雨天路滑，{city}{road}发生连环追尾",
        "{city}一电动车与货车相撞，骑车人当场身亡",
    ],
    "社会##判决": [
        "{city}中院对一起{case}一审宣判",
        "{role}因{crime}被判处有期徒刑{k}年",
        "{city}{case}二审维持原判",
        "法院判决{company}赔偿用户{money}万元",
        "{role}{crime}案宣判，获刑{years}年",
    ],
    "娱乐##发布": [
        "歌手{name}发布新专辑{work}",
        "{name}新歌{work}上线，首日播放量破{n}万",
        "电影{work}发布定档海报，{month}月{day}日上映",
        "{name}主演的新剧{work}发布预告片",
        "{band}发布全新单曲{work}",
    ],
    "娱乐##获奖": [
        "{name}凭借{work}获得{festival}{award}",
        "{work}斩获{festival}{k}项大奖",
        "{festival}揭晓，{name}摘得{award}",
        "{name}凭借{work}获{musicfest}{musicaward}",
        "{name}首次入围即获{festival}{award}",
        "{band}荣获{musicfest}年度乐队奖",
    ],
    "娱乐##离婚": [
        "{name}与{name2}宣布离婚",
        "结婚{k}年后，{name}与丈夫和平分手",
        "{name}工作室发声明证实已离婚",
        "{name}离婚风波后首次公开露面",
        "{name}与{name2}结束{years}年婚姻",
    ],
    # Level-1-only texts: about the class, but no specific event type.
    "体育": [
        "{league}第{n}轮比赛今晚开打",
        "{team}主帅赛前发布会谈备战情况",
        "{city}马拉松报名人数突破{n}万",
        "{team}今日在{city}进行封闭训练",
    ],
    "财经": [
        "{company}发布第{k}季度财报",
        "{city}前{month}月社会消费品零售总额同比增长{pct}%",
        "央行公布{month}月金融数据",
        "{company}召开年度股东大会",
    ],
    "科技": [
        "{city}举办{year}年人工智能大会",
        "{company}研发投入同比增长{pct}%",
        "{city}新建{k}座5G基站",
        "{field}产业论坛在{city}开幕",
    ],
    "社会": [
        "{city}开展夏季安全隐患排查",
        "{city}地铁{k}号线明日起调整运营时间",
        "{city}启动老旧小区改造工程",
        "{city}发布暴雨蓝色预警",
    ],
    "娱乐": [
        "{name}现身{city}机场，粉丝热情接机",
        "综艺节目{work}第{k}季开录",
        "{name}{city}演唱会门票{k}分钟售罄",
        "{band}宣布全国巡演{city}站加场",
    ],
}

CONNECTORS: list[str] = ["；", "，与此同时，", "；另据报道，", "。此外，"]


def level2_labels() -> list[str]:
    """All level-2 labels as ``父##子``, in tree order."""
    return [f"{p}##{c}" for p, cs in TREE.items() for c in cs]


def fill(template: str, rng: random.Random) -> str:
    """Fill every ``{slot}`` in ``template`` with a random filler."""
    values: dict[str, str] = {}
    for key, options in SLOTS.items():
        if "{" + key + "}" in template:
            values[key] = rng.choice(options)
    if "{name2}" in template:
        values["name2"] = rng.choice([n for n in SLOTS["name"] if n != values["name"]])
    for key, draw in NUMS.items():
        if "{" + key + "}" in template:
            values[key] = draw(rng)
    return template.format(**values)


def sentence(label: str, rng: random.Random) -> str:
    """One sentence for ``label`` (a level-2 label or a level-1-only label)."""
    return fill(rng.choice(TEMPLATES[label]), rng)


def unique(make: Callable[[], str], seen: set[str]) -> str:
    """Call ``make`` until it returns a text not in ``seen``; record it."""
    for _ in range(1000):
        text = make()
        if text not in seen:
            seen.add(text)
            return text
    raise RuntimeError("could not generate a unique text")


def plan_split(
    n_total: int, n_pair: int, n_l1: int, rng: random.Random
) -> list[list[str]]:
    """Label sets for one split: singles cycle evenly, then pairs, then l1-only."""
    l2 = level2_labels()
    parents = list(TREE)
    plans: list[list[str]] = []
    for i in range(n_total - n_pair - n_l1):
        plans.append([l2[i % len(l2)]])
    for _ in range(n_pair):
        p1, p2 = rng.sample(parents, 2)
        plans.append([f"{p1}##{rng.choice(TREE[p1])}", f"{p2}##{rng.choice(TREE[p2])}"])
    for i in range(n_l1):
        plans.append([parents[i % len(parents)]])
    rng.shuffle(plans)
    return plans


def label_line(events: list[str]) -> str:
    """Labels for a line: level-1 ancestors first, then level-2, no repeats."""
    level1: list[str] = []
    for e in events:
        parent = e.split("##")[0]
        if parent not in level1:
            level1.append(parent)
    return ",".join(level1 + [e for e in events if "##" in e])


def make_text(events: list[str], rng: random.Random) -> str:
    """Text for a line: one sentence, or two joined by a connector."""
    parts = [sentence(e, rng) for e in events]
    if len(parts) == 1:
        return parts[0]
    return rng.choice(CONNECTORS).join(parts)


def write_atomic(path: Path, lines: list[str]) -> None:
    """Write UTF-8 lines (``\\n`` endings) via a temp file and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("".join(line + "\n" for line in lines))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; use ordinary file mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def build(seed: int = SEED) -> dict[str, list[str]]:
    """Build the contents of every output file, keyed by file name."""
    rng = random.Random(seed)
    seen: set[str] = set()
    files: dict[str, list[str]] = {}
    files["label.txt"] = [
        x for p, cs in TREE.items() for x in [p] + [f"{p}##{c}" for c in cs]
    ]
    for name, n_total, n_pair, n_l1 in SPLITS:
        lines = []
        for events in plan_split(n_total, n_pair, n_l1, rng):
            text = unique(lambda ev=events: make_text(ev, rng), seen)
            lines.append(f"{text}\t{label_line(events)}")
        files[f"{name}.txt"] = lines
    pool = level2_labels() + list(TREE)
    files["data.txt"] = [
        unique(lambda: make_text([rng.choice(pool)], rng), seen)
        for _ in range(N_UNLABELLED)
    ]
    return files


def main() -> None:
    """Write the sample files next to this script."""
    for name, lines in build().items():
        write_atomic(OUT_DIR / name, lines)
        print(f"wrote {name}: {len(lines)} lines")


if __name__ == "__main__":
    main()
