"""The answer judge's vocabulary: which words and symbols play which part in a verdict, per language.

:mod:`pytest_llmcmp.answers` reads a model's answer as a stream of words of the kinds below and
matches its grammar rules against that stream. Everything language-specific lives here, in plain
tables: to teach the judge a new phrase, add it to the list of its kind; to add a language, add a
table to :data:`PHRASES` (and its ordinal words to :data:`ORDINALS`).

Phrases are matched case-insensitively, whole (a Latin phrase never inside a longer word), longest
first: "not as large as" is one word of kind ``LESS``, not a negation followed by an equality, and
"大小" is a ``BARRIER``, so the "大" inside it is never read as "larger". One phrase has one kind;
``tests/test_answers.py`` checks that no phrase is listed twice.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "ADDING", "ASCENDING", "DESCENDING", "LOOSE_EQUALS", "LOOSE_SAMENESS", "NOT_EQUAL_SIGNS", "ORDINALS", "PHRASES",
    "RANK_HEADERS", "RETRACTING", "SAME_BEFORE_A_NOUN", "UNITS", "VALUE_NOUNS", "Kind", "phrase_kinds",
]  # fmt: skip


class Kind(Enum):
    """What a word does in a verdict. The value is the one-character code the grammar compiles to."""

    # relations between two operands: "X > Y", "X 大于 Y"
    GREATER = ">"
    LESS = "<"
    AT_LEAST = "g"
    AT_MOST = "l"
    EQUALS = "="  # "X equals Y", "X 等于 Y"
    # predicates
    SAME = "E"  # "X and Y are equal", "两者相等"
    LARGER = "B"  # "X 更大", "X is larger", "the larger is X"
    SMALLER = "S"
    THAN = "T"  # "比" in "X 比 Y 大", "than"
    NEGATION = "n"
    NOT_AS = "m"  # "X 没有 Y 大", "X 不如 Y 大"
    NEITHER = "Z"  # "neither is larger": the options are equal
    DIFFERENT = "D"  # "they are two different numbers", "是不同的数": the options are not one value
    AND = "J"  # joins options into a list
    GROUP = "Q"  # "both", "两者", "they": all the options at once
    OF = "o"  # "the larger of X and Y"
    COPULA = "i"  # "is", "是", ":"
    ANSWER = "A"  # "the answer is", "答案", a JSON key "result"
    RELATIVE = "Y"  # "which", "这": the number just named ("9.9 = 9.90, which is larger than 9.11")
    PRONOUN = "H"  # "it", "它": the subject of the clause before ("…, which makes it the smaller")
    YES = "y"  # "yes", "是的": a reply that confirms the question just asked ("Is 7.4 larger than 7.38? Yes.")
    NO = "u"  # "no", "nope": a reply that denies it (so does a bare negation: "不是。")
    # discourse: these start a new segment of the answer (see answers.py)
    CONCLUSION = "K"  # "so", "所以": opens a clause and concludes
    CONCLUDING = "k"  # "in conclusion", "综上", "finally": concludes, may sit inside a clause
    CONTRAST = "V"  # "but", "但是"
    CORRECTION = "C"  # "wait", "不对", "I mean": opens a clause; what follows replaces what came before
    IN_FACT = "G"  # "actually", "其实": a correction that may sit inside a clause ("13.8 is actually larger")
    # clauses containing these assert nothing (the reason is shown by explain())
    HEDGE = "h"  # "maybe", "可能", "不太确定": after the verdict, it leaves no choice
    DEPENDS = "d"  # "it depends", "取决于": the answer is conditional, wherever this is said
    APPEARANCE = "a"  # "looks", "看起来", "people think", "is wrong"
    APPROXIMATE = "L"  # "almost the same", "几乎一样大", "the same magnitude"
    CONCESSION = "c"  # "although", "虽然"
    CONDITION = "f"  # "if", "如果"
    QUESTION = "w"  # "which", "哪个": asks which option
    WHETHER = "W"  # "吗", "是否", "whether": asks whether the clause's claim holds (a "yes" may answer it)
    DIGITS = "P"  # talk about parts of a number: "小数部分", "tenths digit"
    FORMULA = "F"  # talk about an equation or expression: "the equation 2.5e3 = 2499", "算式"
    ORDERING = "R"  # "从小到大", "ascending": its larger/smaller words name ends of a range
    # "0.7是0.07的10倍", "0.7 is ten times 0.07": after a factor above one (a number before it, or its own
    # word: "两倍", "ten times"), the number before it is the larger; after a factor below one it asserts nothing
    MULTIPLE = "M"
    MIDDLE = "I"  # "4.8 is in the middle", "4.8居中": of three or more, neither the largest nor the smallest
    # other
    BARRIER = "_"  # a word that contains a shorter word of another kind but is none ("大小", "不同")
    GLUE = ""  # words that never change a verdict; dropped so the grammar sees through them


_P = tuple[str, ...]


def _words(text: str) -> _P:
    """A table cell: phrases separated by "|" (so that long lists stay readable)."""
    return tuple(phrase.strip() for phrase in text.split("|") if phrase.strip())


PHRASES: dict[str, dict[Kind, _P]] = {
    "symbols": {
        Kind.GREATER: _words(">"),
        Kind.LESS: _words("<"),
        Kind.AT_LEAST: _words("≥|>=|⩾"),
        Kind.AT_MOST: _words("≤|<=|⩽"),
        Kind.EQUALS: _words("=|==|≈|≃"),
        Kind.CONCLUSION: _words("→|⇒|=>|->|∴"),
        Kind.COPULA: _words(":"),
        Kind.ANSWER: _words('"result"|"answer"|"final_answer"|"choice"'),
        # JSON keys that label a value by its direction: {"larger": 16.6, "smaller": 16.16}
        Kind.LARGER: _words('"larger"|"largest"|"bigger"|"biggest"|"max"|"maximum"'),
        Kind.SMALLER: _words('"smaller"|"smallest"|"min"|"minimum"'),
        Kind.AND: _words("&"),
        Kind.HEDGE: _words("🤔|🤷|😕"),  # doubt, a shrug
    },
    "zh": {
        Kind.GREATER: _words("大于|高于|多于|超过|超出|胜过|大过|高过|高出|多过"),
        Kind.LESS: _words("小于|低于|少于|不及|小过|低过"),
        Kind.AT_LEAST: _words("大于等于|大于或等于"),
        Kind.AT_MOST: _words("小于等于|小于或等于"),
        Kind.EQUALS: _words("等于|约等于"),
        Kind.SAME: _words(
            "相等|一样大|一样|同样大|相同|等同|一般大|等大|大小相同|大小相等|大小一样|完全相同|完全相等|数值相同|数值相等|同一个数|同一个数值|同一个数字|同一数值|同一个小数|同一个大数|同一个整数|同一个分数|同一个值|没有区别|没有差别|没有差异"
        ),
        Kind.LARGER: _words(
            "更大|较大|最大|大些|大一些|大一点|比较大|要大|大|偏大|最大值|较大值|更大一些|更大一点|更高|较高|最高|高|数值更高|数值较高|胜出|获胜"
            # price, weight, temperature
            "|更贵|较贵|贵|贵一些|最贵|更昂贵|更重|较重|重|重一些|最重|更热|较热|更暖"
            "|多|更多|多一些|多一点"  # "三点一四比三点一多零点零四"
            "|较大者|更大者|最大者|大者"  # "较大者：2.31"
        ),
        Kind.SMALLER: _words(
            "更小|较小|最小|小些|小一些|小一点|比较小|要小|小|偏小|最小值|较小值|更小一些|更小一点|更低|较低|最低|低|数值更低|数值较低"
            "|更便宜|较便宜|便宜|便宜一些|最便宜|更轻|较轻|轻|轻一些|最轻|更冷|较冷"
            "|少|更少|少一些|少一点"
            "|较小者|更小者|最小者|小者"
        ),
        Kind.THAN: _words("比|比起"),
        Kind.DIFFERENT: _words("不同的数|两个不同的数|不同的数字|两个不同的数字|不同的值|不是同一个数|不是同一个数字"),
        Kind.NEGATION: _words("不|不是|并不|并不是|并非|非|否|不会|不可能|而不是|而非"),  # "否。" replies no
        Kind.NOT_AS: _words("没有|并没有|不如|没"),
        Kind.AND: _words("和|与|跟|及|以及|、|或|或者|还是"),
        Kind.GROUP: _words(
            "都|均|两者|二者|两个|这两个|两个数|这两个数|两个数字|这两个数字|它们|三个数|其他|其它|其余|另外两个|另一个|所有|所有数|彼此"
        ),
        Kind.COPULA: _words("是|为|就是|乃是|可以说是|可以说|可以算是|算是|可以认为是|可以看成是|即|即为|也就是|亦即"),
        Kind.ANSWER: _words("答案|最终答案|正确答案|结论|选择|选|答"),
        Kind.RELATIVE: _words("这"),
        Kind.PRONOUN: _words("它|该数|这个数|这个数字"),
        Kind.YES: _words("是的|对的|没错|对"),  # "对。" (a bare "是。" replies too: see answers._REPLY)
        Kind.FORMULA: _words("方程|等式|算式|公式"),
        Kind.CONCLUSION: _words(
            "所以|因此|因而|从而|故|于是|这说明|说明|这意味着|意味着|可见|由此可见|这使得|使得|可以得出|我们可以得出|由此得出|得出结论"
        ),
        Kind.CONCLUDING: _words("综上|综上所述|总之|总结|总的来说|最终|最后"),
        Kind.CONTRAST: _words(
            "但|但是|不过|然而|可是|而|而是|如果必须选一个|如果一定要选|如果非要选|如果必须选择|如果只能选一个|非要选的话"
        ),
        Kind.CORRECTION: _words(
            "不对|等等|更正|纠正|修正|等一下|这是错误的|这是错的|我错了|我算错了|搞错了|我弄错了|我说错了|我是说|应该说|准确地说|不，不对|再检查一下|重新检查|再仔细看看|抱歉|对不起|不好意思"
        ),
        Kind.IN_FACT: _words("实际上|事实上|其实|重新"),
        Kind.HEDGE: _words(
            "可能|也许|或许|大概|大约|不确定|不太确定|不敢肯定|不太肯定|不太清楚|不一定|无法确定|无法判断|不好说|不清楚|不知道|难以|不能确定|说不准|不好判断|很难判断|很难说|没法确定|需要更多信息"
            "|需要更多上下文|有歧义|不明确|无法给出|不是很确定|不完全确定|没有答案|无解|没有正确答案"
        ),
        Kind.DEPENDS: _words("取决于|这取决于|看情况|视情况而定|根据具体情况|具体情况|因情况而异|视具体情况|因人而异"),
        Kind.APPEARANCE: _words(
            "看起来|看上去|似乎|好像|貌似|乍一看|表面上|直觉上|直观上|误以为|误认为|以为|会认为|可能会认为|很多人认为|有人认为|容易认为|错误|是错误的|是错的|错了|不正确|并不正确|有些人认为"
            "|人们认为|常常认为|通常认为|容易误认为|大多数人认为|一般人会认为|常见的错误|常见错误|我原以为|我原来以为|起初我以为|一开始我以为|有人会说|一些人会说|很多学生认为|学生常常认为|常有学生认为"
            "|很多人会说|许多人会说|不少人会说|人们会说|大家会说|有人可能会说|并不是说|不是说"
        ),
        Kind.APPROXIMATE: _words("几乎|差不多|接近|相近|近似|约|数量级相同|同一数量级|数量级一样|看作|视为|当作|当成"),
        Kind.CONCESSION: _words("虽然|尽管|虽说|固然|即使|即便"),
        Kind.CONDITION: _words(
            "如果|假如|假设|若|要是|倘若|的话|只看|仅看|作为小数|作为日期|作为版本号|按版本号|按日期"
            "|四舍五入|四舍五入后|取整后|取整|否则"  # "否则" (otherwise) supposes the opposite
        ),
        # "问题：" labels a restated question; "要找出最小的…" states the task
        Kind.QUESTION: _words("哪个|哪一个|哪|谁|问题:|题目:|问:|要找出|为了找出|要找到|为了找到|要确定|为了确定"),
        Kind.WHETHER: _words("是否|吗|是不是"),
        Kind.DIGITS: _words(
            "整数部分|小数部分|小数点|小数位|多一位|多两位|多三位|少一位|少两位|少三位|多了一位|少了一位|十分位|百分位|千分位|位数|数位|第一位|第二位|个位|末位|位上|分数部分|最高位|最低位|高位|低位|首位|最后一位|最后一个数字|长度|更长|较长|更短|较短"
            "|精度|精确度|有效数字|分母|分子|指数|绝对值"
        ),
        Kind.ORDERING: _words("从小到大|从大到小|由小到大|由大到小|升序|降序"),
        Kind.MULTIPLE: _words("倍|两倍|二倍|三倍|四倍|五倍|十倍|百倍|一百倍|千倍"),
        Kind.MIDDLE: _words("居中|在中间|排在中间|位于中间|处于中间"),
        Kind.BARRIER: _words(
            "大小|大家|大多|大多数|大部分|大致|大体|大写|大量|巨大|伟大|重大|放大|扩大|小数|小时|小心|小学|从小|缩小|减小|不同|不仅|不要|不用|不难|不然|不错|比较|相比|对比|比例"
            "|不但|而且|然后|提高|降低|高度|立即|随即|即将|即可"
            # words that contain 重, 轻, 贵, 热, 冷 without comparing
            "|重要|重复|重点|严重|重视|着重|尊重|重量|体重|比重|重力|重心|加重|重庆|重申|重写|重算|重来|隆重|沉重|慎重|注重"
            "|贵重|重叠|重合|重组|重置|双重|多重|年轻|轻松|轻易|减轻|轻微|轻视|轻轻|轻重|宝贵|珍贵|名贵|高贵|富贵|可贵|贵州"
            "|热门|热情|热爱|冷静|冷门"
            # words that contain 多 and 少 without comparing
            "|多少|很多|许多|多数|多写|多加|多添|多了|多出|少写|少了|少加|多种|多个|多次|多余|多么|多亏|多元|多样|多项|最多|至多|不多|多年|多边|多层|多出来"
            "|至少|少数|不少|减少|缺少|很少|少许|少量|最少|少年|稍少"
        ),
        Kind.GLUE: _words(
            "的|了|呢|啊|吧|呀|要|还|也|就|确实|明显|显然|明显地|的确|肯定|当然|一定|绝对|数|数字|远|远远|略|略微|显著|值|的值|稍|稍微|更|认为|我认为|我觉得|觉得|应该|在数值上|那么"
            "|自然|自然而然"
            "|数值上|两者中|两个数中|两个数字中|其中|之中|数值|仔细看|的大小|同样"
            # labels of an explanation that follows ("说明：…"), not conclusions
            "|说明:|分析:|解释:|注:|注意:|解析:"
        ),
    },
    # Hindi, a few words so far: "7.25 और 7.3 में, 7.25 छोटा है।" (of 7.25 and 7.3, 7.25 is smaller)
    "hi": {
        Kind.LARGER: _words("बड़ा|बड़ी|बड़े|सबसे बड़ा|सबसे बड़ी|ज़्यादा बड़ा|अधिक बड़ा"),
        Kind.SMALLER: _words("छोटा|छोटी|छोटे|सबसे छोटा|सबसे छोटी"),
        Kind.AND: _words("और|या"),
        Kind.COPULA: _words("है|हैं"),
        Kind.SAME: _words("बराबर|समान"),
        Kind.GLUE: _words("में"),
    },
    # French, Spanish, Russian, Japanese: a few words so far, enough for a direct verdict ("Le plus grand est 0,6.",
    # "0,3 es menor que 0,29", "Меньше число 1,01", "0.6の方が小さいです"); their decimal commas are read by answers.py
    "fr": {
        Kind.GREATER: _words("est plus grand que|plus grand que|est supérieur à|supérieur à|plus grande que"),
        Kind.LESS: _words("est plus petit que|plus petit que|est inférieur à|inférieur à|plus petite que"),
        Kind.LARGER: _words("le plus grand|la plus grande|plus grand|plus grande|le plus élevé|plus élevé"),
        Kind.SMALLER: _words("le plus petit|la plus petite|plus petit|plus petite|le moins élevé"),
        Kind.SAME: _words("égaux|égales|identiques|sont égaux|sont égales"),
        Kind.COPULA: _words("est|c'est|sont"),
        Kind.AND: _words("et|ou"),
        Kind.CONCLUSION: _words("donc|ainsi"),
        Kind.CONTRAST: _words("mais"),
        Kind.ANSWER: _words("réponse|la réponse"),
        Kind.GLUE: _words("en effet"),
    },
    "es": {
        Kind.GREATER: _words("es mayor que|mayor que|es más grande que|más grande que"),
        Kind.LESS: _words("es menor que|menor que|es más pequeño que|más pequeño que"),
        Kind.LARGER: _words("el mayor|mayor|el más grande|más grande"),
        Kind.SMALLER: _words("el menor|menor|el más pequeño|más pequeño"),
        Kind.SAME: _words("iguales|son iguales|el mismo número|el mismo valor"),
        Kind.NEITHER: _words("ninguno"),
        Kind.GROUP: _words("el otro|ambos|ambas"),
        Kind.COPULA: _words("es|son"),
        Kind.CONCLUSION: _words("por lo tanto|entonces|así que"),
        Kind.CONTRAST: _words("pero|sin embargo"),
        Kind.ANSWER: _words("respuesta|la respuesta"),
    },
    "ru": {
        Kind.GREATER: _words("больше чем"),
        Kind.LESS: _words("меньше чем"),
        Kind.LARGER: _words("больше|наибольшее|наибольшим|самое большое|большее"),
        Kind.SMALLER: _words("меньше|наименьшее|наименьшим|самое маленькое|меньшее"),
        Kind.SAME: _words("равны|одинаковы"),
        Kind.GLUE: _words("число"),
    },
    "ja": {
        Kind.LARGER: _words("大きい|より大きい|大きいです|最も大きい|一番大きい"),
        Kind.SMALLER: _words("小さい|より小さい|小さいです|最も小さい|一番小さい"),
        Kind.SAME: _words("同じです|等しい|等しいです"),
        Kind.COPULA: _words("は|です"),
        Kind.AND: _words("と"),
        Kind.GLUE: _words("の方が|のほうが|が"),
    },
    "en": {
        Kind.GREATER: _words(
            "larger than|bigger than|greater than|higher than|more than|exceeds|exceed|is above|beats|beat"
            "|outweighs|outweigh|tops|is ahead of|outranks|surpasses|surpass|worth more than|is worth more than"
            "|twice as large as|twice as big as|twice as great as|twice the size of|double|triple"
            "|heavier than|more expensive than|pricier than|costlier than|dearer than|warmer than|hotter than"
            "|taller than|edges out|edge out|edges past|narrowly edges out|narrowly beats|pips|nudges out"
        ),
        Kind.LESS: _words(
            "smaller than|less than|lower than|fewer than|lesser than|is below|falls below|falls short of|is behind"
            "|trails|trail|not as large as|not as big as|not as great as|not as high as|is not as large as"
            "|isn't as large as|is not as big as|isn't as big as|is not as great as|isn't as great as"
            "|is not as high as|isn't as high as|worth less than|is worth less than"
            "|half as large as|half as big as|half as great as|half the size of"
            "|cheaper than|lighter than|less expensive than|colder than|cooler than"
        ),
        Kind.AT_LEAST: _words(
            "greater than or equal to|larger than or equal to|no smaller than|no less than|not smaller than"
        ),
        Kind.AT_MOST: _words(
            "less than or equal to|smaller than or equal to|no larger than|no greater than|no more than|no bigger than"
        ),
        Kind.EQUALS: _words(
            "equals|equal to|the same as|same as|identical to|equivalent to|as large as|as big as"
            "|the same size as|the same value as|the same number as|equal in value to"
        ),
        Kind.SAME: _words(
            "equal|the same|identical|equivalent|equally large|a tie|tied|the same value|the same number"
            "|no difference|there is no difference|there's no difference"
        ),
        Kind.LARGER: _words(
            "larger|bigger|greater|higher|largest|biggest|greatest|highest|maximum|the max|max|comes out ahead"
            "|come out ahead|comes out on top|wins|is the winner|the winner|tops the list|worth more|is worth more"
            "|heavier|heaviest|more expensive|most expensive|pricier|priciest|costlier|warmer|warmest|hotter|hottest"
            "|taller|tallest"
        ),
        Kind.SMALLER: _words(
            "smaller|lesser|less|lower|smallest|least|lowest|minimum|min|worth less|is worth less"
            "|cheaper|cheapest|lighter|lightest|less expensive|least expensive|colder|coldest|cooler"
        ),
        Kind.THAN: _words(
            "than|compared to|compared with|when compared to|when compared with|in comparison to|in comparison with"
            "|relative to"
        ),
        Kind.NEGATION: _words(
            "not|isn't|is not|aren't|are not|wasn't|was not|never|rather than|instead of|doesn't|does not|no longer"
            "|don't|do not|didn't|did not|cannot|can't|can not|cannot be|can't be|can not be"
            "|nor is|nor are"  # "…, nor is it smaller" ("neither X nor Y" joins a list: "nor" alone is AND)
        ),
        Kind.NEITHER: _words("neither"),
        Kind.DIFFERENT: _words(
            "different numbers|two different numbers|different values|two different values|distinct numbers"
            "|two distinct numbers|different from each other|not the same number|not the same value"
            "|different ones|two different ones|different from|a different value|a different number"
            "|a different value from|a different number from|different value|different number"
        ),
        Kind.AND: _words("and|or|nor|vs|versus"),
        Kind.GROUP: _words(
            "both|all|they|them|the others|the other|the other two|the other one|any other|all others"
            "|all the others|the two numbers|both numbers|the numbers|all of them|either|they're|each other"
            "|one another|these two numbers|these numbers|these two|those two numbers"
            "|the three numbers|these three numbers|those three numbers|all three numbers|all three|these three"
            "|the four numbers|these four numbers|all four numbers|all four"
            "|the given numbers|the given values|the given options|the options|these options|the values|these values"
            "|the two values|both values|all the numbers|all the values|the numbers given|the values given"
        ),
        Kind.OF: _words("of|among"),
        Kind.COPULA: _words(
            "is|are|was|would be|will be|should be|has|have|it's|that's|be said to be|be called|be considered"
            "|must be|has to be|have to be|is going to be|i.e.|i.e|can be"
        ),
        Kind.ANSWER: _words(
            "answer|final answer|the answer|correct answer|my answer|i choose|i pick|i select|correct choice"
            "|right choice|my choice|i'd go with|i would go with|i'll go with|i go with|i'd choose|i would choose"
            "|i'd pick|i would pick|output|the output|final output"
        ),
        Kind.RELATIVE: _words("which"),
        Kind.PRONOUN: _words("it|this number|that number"),
        Kind.YES: _words("yes|yeah|yep"),
        Kind.NO: _words("no|nope"),
        Kind.FORMULA: _words("equation|equations|formula|expression"),
        Kind.CONCLUSION: _words(
            "so|therefore|thus|hence|consequently|which means|which makes|which shows|which implies|which gives"
            "|this means|that means|this shows|meaning|as a result|this makes|making"
            "|we conclude that|we can conclude that|we conclude|we can conclude|it follows that|one can conclude that"
        ),
        Kind.CONCLUDING: _words("in conclusion|in summary|to summarize|overall|finally"),
        # a forced choice revises "neither": "They are equal. If I had to pick one, 4.5 is smaller" (not a supposition)
        Kind.CONTRAST: _words(
            "but|however|if i had to pick one|if i had to choose one|if i had to pick|if i had to choose"
            "|if i must choose|if one must choose|if forced to choose|if you must choose|if we must choose"
        ),
        Kind.IN_FACT: _words("actually|in fact"),
        Kind.CORRECTION: _words(
            "wait|no wait|correction|oops|sorry|let me reconsider|i mean|on second thought|that is wrong"
            "|i made a mistake|i made an error|i was mistaken|i've made a mistake|i have made a mistake"
            "|that's wrong|this is wrong|that is incorrect|that's incorrect|i was wrong|my mistake|that's not right"
            "|that is not right|that doesn't seem right|that can't be right|or rather|hmm, no|hmm no|no, wait"
            "|that's not correct|that is not correct|this is not correct|that isn't correct|that isn't right"
            "|wait, no|oh no|actually, no|actually no|let me recheck|let me re-check|let me double-check"
            "|let me double check|let me check again|on reflection|upon reflection"
            "|apologies|my apologies|apologies for the confusion|i apologize|i apologise|sorry for the confusion"
        ),
        Kind.HEDGE: _words(
            "maybe|perhaps|possibly|probably|likely|might|may|could be|not sure|unsure|uncertain|not certain"
            "|hard to say|cannot determine|can't determine|can't tell|cannot be determined|unclear|i don't know"
            "|it's unclear|not clear|hard to tell|difficult to say|difficult to tell|without more context"
            "|without context|could go either way|either could be|i'm not certain|i am not sure|i'm not sure"
            "|not entirely sure|not completely sure|not totally sure|not 100% sure|can't be sure|cannot be sure"
            "|inconclusive|no definitive answer|ambiguous|not necessarily|isn't necessarily|is not necessarily"
            "|are not necessarily|aren't necessarily|there's no answer|there is no answer|no answer"
        ),
        Kind.DEPENDS: _words(
            "it depends|depends on|depending on|in some contexts|context-dependent|that depends|this depends"
            "|both answers can be considered correct|both can be correct"
        ),
        Kind.APPEARANCE: _words(
            "seems|seem|looks|look like|appears|appear|at first glance|might think|may think|would think|mistakenly"
            "|wrongly|is wrong|incorrect|false|misconception|might seem|intuitively|superficially|some people think"
            "|people think|some think|many think|many people think|some may think|one might think|look"
            "|most people think|most people would say|most people would think|a common mistake|common mistake"
            "|i thought|i first thought|i initially thought|initially thought|i assumed|i had thought|some say"
            "|many say|others say|people often say|students often think|many students think|a common answer is"
            "|some students think|many would say|some would say|most would say|people would say|one might say"
            "|one could say|you might say|might say|may say|tempting to say|tempting to think|it is tempting"
            "|it's tempting|at first sight|not true that|isn't true that|is not true that|not the case that"
            "|isn't the case that|is not the case that|untrue that"
        ),
        Kind.APPROXIMATE: _words(
            "almost|nearly|roughly|approximately"
            "|basically|practically|virtually|more or less|essentially|effectively|for all practical purposes"
            "|for practical purposes|for most practical purposes|in practice"
            "|very close|close to|similar|the same magnitude|same magnitude|the same order of magnitude"
            "|same order of magnitude|treat them as|treat it as|treated as|regarded as|around"
            "|about"  # before a number only ("about 5"; "think about which" is glue): see answers._lex
        ),
        Kind.CONCESSION: _words("although|though|even though|despite|while"),
        Kind.CONDITION: _words(
            "if|suppose|assuming|assume|as decimal numbers|as decimals|as plain numbers|as dates|as a date"
            "|as versions|as version numbers|as software versions|in version numbering"
            # rounding supposes another number: "Rounded, 2/3 is 0.67"
            "|rounded|when rounded|if rounded|after rounding|once rounded|rounding"
        ),
        Kind.WHETHER: _words("whether"),
        # "question:" labels a restated question; "to find the smallest …" states the task
        Kind.QUESTION: _words(
            "question:|q:|to find|in order to find|to determine|to figure out|to work out|to decide|to identify"
        ),
        Kind.DIGITS: _words(
            "integer part|decimal part|fractional part|whole number part|whole part|decimal places|decimal place"
            "|digit|digits|tenths|hundredths|tenths place|place value|decimal point|length|longer|shorter"
            "|more digits|fewer digits|less digits|more decimals|fewer decimals|precision|more precise|less precise"
            "|accuracy|more accurate|significant figures"
            "|significant figure|significant digits|sig figs|denominator|numerator|exponent|mantissa|absolute value"
            "|absolute values"
        ),
        Kind.ORDERING: _words(
            "from smallest to largest|from largest to smallest|from least to greatest|from greatest to least"
            "|ascending|descending"
        ),
        Kind.MULTIPLE: _words("times|two times|three times|four times|five times|ten times|a hundred times"),
        Kind.MIDDLE: _words("in the middle|the middle one|the middle number|the middle value|in between"),
        Kind.BARRIER: _words(
            "more|large|big|times as large as|times as big as|times as great as|times the size of|no matter"
        ),
        Kind.GLUE: _words(
            "then|very|much|slightly|a bit|a little|the|a|an|one|number|value|of the two|of the two numbers"
            "|among them|between them|here|i think|i believe|in value|still|also|the one|percent"
            "|clearly|definitely|indeed|that|if we look closely|if we look carefully|if you look closely"
            "|looking closely|units|unit|look at|looking at|take a look at|let us look at|let's look at"
            "|to be precise|more precisely|can|as well"
            "|considered|deemed"  # "1.75 would be considered the larger number"
            "|in this list|in the list|in this set|in the set|of this list|of the list|e.g.|e.g"
            "|among these|among these numbers|among these values|among these options|among the numbers|among the values"
            "|among the given numbers|among all|among all of them"
        ),
    },
}

# Words that add a claim to the earlier ones instead of replacing them ("13.5 也可以说是最大的",
# "13.5 is also the largest"): a final statement said with one of them leaves an earlier statement
# that chose otherwise standing. To the grammar they are GLUE (they change no claim).
ADDING: dict[str, tuple[str, ...]] = {
    "zh": ("也", "同样"),
    "en": ("also", "as well"),
}

# Corrections that call the statement before them wrong ("that's not correct", "我错了"), not merely pause
# ("wait", "let me double-check"): concluding the retracted verdict again contradicts the correction
# ("11.11 is larger. Wait, that's not correct. … So 11.11 is larger.": no choice). To the grammar they are
# CORRECTION words like the others.
RETRACTING: dict[str, tuple[str, ...]] = {
    "zh": ("不对", "这是错误的", "这是错的", "我错了", "我算错了", "搞错了", "我弄错了", "我说错了", "不，不对"),
    "en": (
        "that is wrong", "that's wrong", "this is wrong", "that is incorrect", "that's incorrect", "i was wrong",
        "my mistake", "that's not right", "that is not right", "that doesn't seem right", "that can't be right",
        "that's not correct", "that is not correct", "this is not correct", "that isn't correct", "that isn't right",
        "i made a mistake", "i made an error", "i was mistaken", "i've made a mistake", "i have made a mistake",
    ),
}  # fmt: skip

# "The same" before a noun says the options share that noun ("the same sign", "the same form", "相同的形式", "一样的
# 格式"), not that they are one value; unless the word after it is one of VALUE_NOUNS ("the same size", "相同的大小")
# or no noun ("the same in size", "the same when written as decimals"). To the grammar such an attributive "the
# same" is a BARRIER.
SAME_BEFORE_A_NOUN: dict[str, tuple[str, ...]] = {
    "zh": ("相同", "一样"),
    "en": ("the same", "equal", "identical", "equivalent"),  # "an equal sign", "equal parts", "two identical pieces"
}
VALUE_NOUNS: dict[str, tuple[str, ...]] = {
    "zh": ("大小", "结果", "量", "重量", "价格", "高度", "温度"),
    "en": (
        "size", "sizes", "amount", "quantity", "thing", "things", "point", "worth", "exact", "numerical", "numeric",
        "mathematical", "real", "result", "figure", "in", "when", "after", "once", "regardless", "for", "at", "on",
        "now", "here", "whether", "weight", "mass", "price", "cost", "height", "distance", "temperature", "volume",
        "speed", "numbers", "values", "magnitude", "magnitudes", "quantities", "amounts",
        # words after an attributive-looking "equal"/"identical" that are no noun: "identical except for the zero"
        "except", "apart", "aside", "besides", "other", "too", "anyway", "either", "overall", "otherwise", "to",
    ),
}  # fmt: skip

# Equality signs that say "approximately": between two options ("1/3 ≈ 0.33") they claim no equality (they say the
# values are close); between an option and another number ("1/3 ≈ 0.333 is larger than 0.3") they restate the option,
# like "=". To the grammar they are EQUALS words, except between two options (then APPROXIMATE).
LOOSE_EQUALS: tuple[str, ...] = ("≈", "约等于", "≃")

# A loose sameness ("almost the same", "几乎一样大"): to the grammar an APPROXIMATE and a SAME word, like "essentially
# the same", so that it reads as one whichever way it is written (a loose equality, which asserts nothing; a hedge on
# it doubts the approximation, not the verdict before it)
LOOSE_SAMENESS: dict[str, tuple[str, ...]] = {
    "zh": ("几乎一样", "几乎相同", "几乎一样大", "差不多大"),
    "en": ("about the same", "almost the same", "nearly the same", "roughly the same"),
}

# Signs that deny an equality ("9.9 ≠ 9.11"): to the grammar a NEGATION and an EQUALS word, like "不等于" (不 + 等于)
# and "is not equal to"; they deny that the options are one value and pick none.
NOT_EQUAL_SIGNS: tuple[str, ...] = ("≠", "!=", "=/=")

# Units written right after a number ("13.8 kg", "13.8元", "4.9 g/cm3", "13.8元/斤", "13.8/kg"): the lexer
# reads them as part of the number, so "13.8 kg is heavier" has the subject 13.8. A unit may carry a power
# ("cm3", "m²") and be divided by another ("kg/m"); a number may be divided by a unit alone ("13.8/kg"). Latin
# units match whole words only; words that are also verdict words ("min", "max") are left out.
UNITS: dict[str, tuple[str, ...]] = {
    "symbols": ("°C", "°F", "°", "℃", "℉"),
    "zh": _words(
        "元|块|块钱|角|斤|公斤|千克|克|毫克|吨|米|厘米|毫米|千米|公里|英里|秒|毫秒|分钟|小时|天|年|升|毫升|度|摄氏度"
        "|平方米|立方米|美元|欧元|英镑|日元|岁|千瓦时|个百分点"
    ),
    "en": _words(
        "kg|g|mg|lb|lbs|oz|m|cm|mm|km|mi|ft|yd|s|sec|secs|ms|hr|hrs|l|ml|kwh|kw|w|hz|khz|mhz|ghz|kb|mb|gb|tb|mph"
        "|kph|pa|kpa|usd|eur|rmb|cny|kilograms|kilogram|kilos|grams|gram|meters|meter|metres|metre|centimeters"
        "|centimetres|millimeters|kilometers|kilometres|miles|mile|feet|foot|inches|inch|seconds|minutes|hours"
        "|days|years|pounds|pound|ounces|liters|litres|liter|litre|dollars|dollar|cents|euros|yuan|points|pts"
        "|degrees|volts|watts"
    ),
}

# A ranking table's header for its rank column ("| 排名 | 原数 |"), and the ORDERING words that say its rank 1 is the
# largest (descending) or the smallest (ascending): "| 排名 | 数 |\n|---|---|\n| 1 | 2.72 | …" after or before
# "按从大到小排好了" names 2.72 the largest. With no direction stated, a rank table says nothing.
RANK_HEADERS: dict[str, tuple[str, ...]] = {
    "zh": ("排名", "名次"),
    "en": ("rank", "ranking"),
}
DESCENDING: dict[str, tuple[str, ...]] = {
    "zh": ("从大到小", "由大到小", "降序"),
    "en": ("from largest to smallest", "from greatest to least", "descending"),
}
ASCENDING: dict[str, tuple[str, ...]] = {
    "zh": ("从小到大", "由小到大", "升序"),
    "en": ("from smallest to largest", "from least to greatest", "ascending"),
}

# Words that point at an option by its place in the latest list of numbers ("前者", "the latter").
ORDINALS: dict[str, dict[str, int]] = {
    "zh": {
        "前者": 0, "第一个数字": 0, "第一个数": 0, "第一个": 0, "前一个": 0, "第二个数字": 1,
        "第二个数": 1, "第二个": 1, "第三个数字": 2, "第三个数": 2, "第三个": 2, "后者": -1, "后一个": -1,
    },
    "en": {
        "the former": 0, "the first number": 0, "the first one": 0, "the first value": 0,
        "the second number": 1, "the second one": 1, "the second value": 1, "the third number": 2,
        "the third one": 2, "the latter": -1,
    },
}  # fmt: skip


def phrase_kinds(tables: dict[str, dict[Kind, _P]] | None = None) -> dict[str, Kind]:
    """Every phrase of every language (of :data:`PHRASES`, or of ``tables``), lower-cased, with its
    kind; a phrase listed under two kinds raises :class:`ValueError`."""
    kinds: dict[str, Kind] = {}
    for language, table in (PHRASES if tables is None else tables).items():
        for kind, phrases in table.items():
            for phrase in phrases:
                key = " ".join(phrase.lower().split())
                if key in kinds and kinds[key] is not kind:
                    raise ValueError(f"{language}: {phrase!r} is both {kinds[key].name} and {kind.name}")
                kinds[key] = kind
    return kinds
