"""Built-in stories: a name, a relevance query (see ``ingest.pipeline.relevance``) and a codebook.

How the ``belarus-prisoners`` query was built
---------------------------------------------
The story is Belarus's political prisoners and the releases and pardons negotiated with
the United States from 2025 on. The query has the shape::

    UNIQUE
    OR (BELARUSIAN_WORDS NOT FOREIGN)
    OR (BELARUS AND (STRONG OR BELARUSIAN_WORDS OR NAMES
                     OR (DETENTION NOT OTHER)
                     OR (RELEASE AND (ENVOYS OR US) NOT POW NOT NOT_FREED)))

* BELARUS: the country in every script and grammatical case (prefixes cover the Russian,
  Belarusian, Ukrainian and Polish endings: ``беларус*``, ``белорус*``, ``білорус*``,
  ``białoru*``), Lukashenko in each transliteration, the Tsikhanouskis, whose names stand
  for the country in foreign coverage, and Minsk, the regional capitals and prison towns,
  which Belarusian outlets name instead of the country.
* STRONG: words that only appear when the subject is political detention: "political
  prisoners" and its one-word forms (политзаключённые, палітвязні, політв'язні),
  prisoners of conscience, pardon/clemency (помиловал, памілаваў, ułaskawił).
* UNIQUE: names found almost only in this story, enough without a country word: the best
  known prisoners freed in 2025 (Bialiatski, Kalesnikava, Babaryka, Siarhei Tsikhanouski,
  Statkevich, Poczobut), the Viasna rights group, the Okrestina jail. NAMES are prisoners
  whose names also occur elsewhere (Kolesnikova, Znak, Losik), so they need BELARUS; so
  does John Coale, the US envoy whose visits are the deals.
* BELARUSIAN_WORDS: the Belarusian-language words for political prisoners (палітвязні,
  палітзняволеныя, both spellings). Belarusian-language outlets write about Belarus and
  seldom name it, so these suffice unless the text is about Russia, Ukraine or Georgia.
* DETENTION: ordinary prison/jail/arrest/sentence words in each language, and the
  unambiguous "freed" words (freed, walked free, uwolnił, вышел на свободу). The Russian
  and Belarusian RELEASE verbs (освобождены, отпустил, вызвалілі) also mean dismissing an
  official, liberating a town and exempting from tax, so they count only with the people
  of the US deals (ENVOYS: Trump, Kellogg, Coale, envoy, State Department) or the US, and
  NOT_FREED drops those other senses. Ukrainian "звільнити" and Polish "zwolnić" (also
  "dismiss") count only with people as the object. English "release" (data, statements,
  films) is left out: English coverage names the prisoners or says "freed".
* OTHER: detention words are dropped when the text is about another kind of detention
  that often names Belarus: Russia-Ukraine prisoner-of-war swaps on the Belarusian border
  (POW, which also guards the release-and-US path), migrants and smugglers at the EU
  border, Lithuanian trucks held in Belarus, Belarusian spies and saboteurs caught in
  Poland, Lithuania, Latvia or Germany, Georgia's protests and Navalny. STRONG terms and
  names are never dropped.

Terms are written in their dictionary spelling; matching folds case and Latin accents,
so ``łukaszenk*`` also matches "Lukaszenka". Homographs were avoided: no bare
``заключ*`` (to conclude a contract), ``осужд*`` (to condemn), ``вясна``/``весна``
(spring), ``kalin*`` (Kaliningrad), ``pow*`` (power), ``Колесников`` (a common name),
``amnest*`` (tax amnesties).
"""

from __future__ import annotations


def _any(*terms: str) -> str:
    return "(" + " OR ".join(terms) + ")"


_BELARUS = _any(
    "belarus*", "byelorus*", "belorus*", "bielorus*", "bielorr*", "weißruss*", "baltarus*",
    "białoru*", "беларус*", "белорус*", "білорус*",
    "minsk*", "минск*", "мінск*", "мінськ*", "менск*",
    # regional capitals and prison towns, which Belarusian outlets name instead of the country
    # (no Latin "Brest": the French port)
    "hrodn*", "grodn*", "vitebsk*", "viciebsk*", "vitsebsk*", "witebsk*", "gomel*", "homel*",
    "homiel*", "mogilev*", "mahilyow*", "mahiliou*", "mohylew*", "babruysk*", "bobruisk*",
    "zhodino", "zhodzina", "novopolotsk", "navapolatsk",
    "гродн*", "віцебск*", "витебск*", "вітебськ*", "гомел*", "гомл*", "магілёв*", "могилев*",
    "могильов*", "брэст*", "брест*", "бабруйск*", "бобруйск*", "жодзін*", "жодин*",
    "наваполацк*", "новополоцк*",
    "lukashenk*", "lukaschenk*", "łukaszenk*", "lukašenk*", "лукашенк*", "лукашэнк*",
    "tsikhanousk*", "tsikhanovsk*", "tikhanovsk*", "tichanowsk*", "cichanousk*",
    "тихановск*", "тихановськ*", "ціханоўск*",
    # Belarusian media in exile, named instead of the country in short items
    "belsat*", "белсат*", '"tut.by"',
)  # fmt: skip

_STRONG = _any(
    # English and German
    '"political prisoner*"', '"political detainee*"', '"prisoner of conscience"',
    '"prisoners of conscience"', "politzek*", "pardon*", "clemency",
    '"politische gefangene*"', '"politischen gefangene*"', "begnadig*",
    # Russian
    "политзаключ*", "политузник*", '"политических заключ*"', '"политические заключ*"',
    '"политическим заключ*"', '"политическими заключ*"', '"узники совести"',
    '"узников совести"', "помилов*", '"пц весна"',
    # Belarusian (and see _BELARUSIAN_WORDS)
    '"вязняў сумлення"', '"вязні сумлення"', "памілав*", '"пц вясна"',
    # Ukrainian
    "політв'язн*", "політв'язен*", "політув'язнен*", "\"політичних в'язн*\"",
    "\"політичні в'язн*\"", "\"політичним в'язн*\"", "\"в'язнів сумління\"", "помилув*",
    # Polish and Lithuanian
    '"więźniów polityczn*"', '"więźniowie polityczn*"', '"więźniami polityczn*"',
    '"więzień polityczn*"', '"więźnia polityczn*"', '"politycznych więźni*"',
    '"polityczni więźni*"', '"więźniów sumienia"', "ułaskawi*",
    '"politinių kalinių"', '"politiniai kaliniai"',
)  # fmt: skip

_BELARUSIAN_WORDS = _any(
    "палітвязн*", "палітвязен*", "палітзняволен*", '"палітычных вязн*"',
    '"палітычныя вязн*"', '"палітычным вязн*"', '"палітычнымі вязн*"',
    # the classical spelling (taraškievica) used by Radio Svaboda
    "палітвязьн*", "палітзьняволен*", '"палітычных вязьн*"', '"палітычныя вязьн*"',
)  # fmt: skip

_FOREIGN = _any("расе*", "расі*", "украін*", "грузі*", "азербайджан*")

_UNIQUE = _any(
    "bialiatsk*", "byalyatsk*", "bialack*", "bjaljazk*", "беляцк*", "бяляцк*", "біляцьк*",
    "babaryk*", "babarik*", "бабарик*", "бабарык*",
    "kalesnikav*", "kalesnikaw*", "калеснікав*",
    "poczobut*", "pachobut*", "počobut*", "почобут*", "пачобут*",
    "statkevic*", "statkiewicz*", "viasna", "vyasna", "wiasna",
    "okrestin*", "akreścin*", "окрестин*", "акрэсцін*",
    # Siarhei Tsikhanouski (the forms that are not his wife's)
    "tsikhanouski", "tsikhanovsky", "tikhanovsky", "tikhanovskiy", "tichanowski",
    "cichanouski", "cichanouskiego", "тихановский", "тихановского", "тихановскому",
    "ціханоўскі", "ціханоўскага", "ціханоўскаму", "ціханоўскім", "тихановський",
    "тихановського", "тихановському",
)  # fmt: skip

_NAMES = _any(
    "kolesnikova", "kolesnikowa", "kolesnikowej", '"мария колесникова"',
    '"марии колесниковой"', '"марию колесникову"', '"марія колеснікова"',
    '"марії колеснікової"', "статкевич*", "статкевіч*",
    '"maxim znak"', '"maksim znak"', '"maksym znak"', '"максим знак"', '"максима знака"',
    '"максім знак"', '"максіма знака"', "losik", '"игорь лосик"', '"ігар лосік"',
    "labkovich", "лабкович*", "лабковіч*", "sevyarynets", "северинец*", "севярынец*",
    "dziadok", "zolatava", "rabkova",
    # John Coale, the US envoy who negotiated the releases
    "coale", "коул*", "коўл*",
)  # fmt: skip

_DETENTION = _any(
    # English and German
    "prison*", "jail*", "imprison*", "incarcerat*", "detain*", "detention*", "arrest*",
    '"behind bars"', "custody", "inmate*", "colony", "colonies", "sentenced", "sentences",
    "sentencing", "convict*",
    '"amnesty international"', "repress*", "hostage*",
    '"walks free"', '"walked free"', '"walk free"', '"set free"',
    "freed", "frees", "freeing", "gefangen*", "häftling*",
    "inhaftiert*", "freigelass*", "freilass*", "festgenommen",
    # Russian
    "заключенн*", "узник*", "тюрьм*", "тюрем*", "колони*", "задержан*", "арестован*",
    "осужденн*", "приговор*", "репресс*", "правозащит*",
    '"лишения свободы"', '"на свободу"', '"за решетк*"',
    # Belarusian
    "вязн*", "вязен*", "зняволен*", "турм*", "калоні*", "затрыман*", "арыштаван*",
    "асуджан*", "асудзі*", "прысуд*", "рэпрэс*", "праваабарон*",
    '"пазбаўлення волі"', '"на волю"', '"на свабоду"', '"на свабодзе"', "вязьн*",
    "зьняволен*", "асуджаньн*", '"пазбаўленьня волі"',
    # Ukrainian
    "в'язн*", "ув'язнен*", "тюрм*", "колоні*", "затриман*", "заарештован*", "засуджен*",
    "вирок*", "репрес*", "правозахисн*", '"позбавлення волі"', '"на волі"',
    # Polish and Lithuanian
    "więźni*", "więzien*", "uwięzi*", "aresztowa*", "skazan*", "uwolni*", "represj*",
    '"na wolność"', '"kolonii karnej"', "kaliniai", "kalinių", "kalinius", "kalinys",
    "kalėjim*",
)  # fmt: skip

_RELEASE = _any(
    "освобод*", "освобожд*", "отпуст*", "вызвалі*", "вызвален*", "paleid*",
    # "звільнити" and "zwolnić" also mean "dismiss": only with people as the object
    "(звільн* AND (людей OR осіб OR громадян* OR іноземц*))",
    "(zwolni* AND (osób OR osoby OR obywatel* OR cudzoziem*))",
)  # fmt: skip

_ENVOYS = _any(
    "trump*", "трамп*", "coale", "коул*", "коўл*",
    "kellogg*", "келлог*", "келог*", "кэлаг*", "кэлог*",
    "envoy*", "посланник*", "спецпосланник*", "пасланнік*", "спецпасланнік*", "посланц*",
    "посланець", "спецпосланц*", "спецпосланець", "wysłann*",
    '"state department"', "госдеп*", "держдеп*", "дзярждэп*",
)  # fmt: skip

_US = _any(
    "washington*", "вашингтон*", "вашынгтон*", "waszyngton*",
    "american*", "американ*", "амерыкан*", "amerykań*",
    '"u.s."', "usa", "сша", "зша", '"united states"', '"stany zjednoczone"',
    '"stanów zjednoczonych"',
)  # fmt: skip

_POW = _any(
    # prisoner-of-war swaps between Russia and Ukraine
    '"prisoner of war"', '"prisoners of war"', "pow", "pows", "servicem*", "военнопленн*",
    "пленн*", '"в плену"', '"из плена"', "военнослужащ*", "палонн*", '"з палону"',
    "полонен*", "військовополонен*", '"з полону"', "військовослужбовц*", "jeńc*",
    "jeniec", "kriegsgefangen*",
)  # fmt: skip

_NOT_FREED = _any(
    # what else releasing means: liberating ground, dismissing officials, tax exemptions
    "фронт*", "всу", "зсу", "наступ*", "оккупир*", "окупован*", "окупант*",
    '"населенный пункт"', '"населенного пункта"', '"населенные пункты"', '"населений пункт"',
    '"от должности"', '"з посади"', '"ад пасады"', '"ze stanowiska"',
    "налог*", "пошлин*", "ндс", "падатк*", "податк*", "podatk*",
)  # fmt: skip

# Belarusians caught spying or sabotaging in the neighbouring EU states (Belarus's own
# sabotage trials, of the "rail partisans", stay in).
_SPIES_ABROAD = (
    "(" + _any(
        "spy", "spies", "spying", "espionage", "sabot*", "шпион*", "шпіён*", "шпигун*",
        "szpieg*", "диверс*", "дыверс*", "dywers*",
    ) + " AND " + _any(
        "poland", "polish", "польш*", "польск*", "polsk*", "polsc*", "lithuania*", "литв*",
        "литов*", "літв*", "літоў*", "litw*", "lietuv*", "latvia*", "латви*", "латві*",
        "łotw*", "germany", "german", "германи*", "немец*", "niemc*",
    ) + ")"
)  # fmt: skip

_OTHER = _any(
    _POW,
    # the EU border: migrants, smugglers, balloons, Lithuanian trucks
    "migran*", "мигран*", "мігран*", "smuggl*", "контрабанд*", "кантрабанд*",
    "przemyt*", "balloon*", "truck*", "lorr*", "грузовик*", "фур*", "грузавік*",
    "вантажівк*", "ciężarów*",
    _SPIES_ABROAD,
    # other countries' detainees
    "georgia*", "tbilis*", "грузи*", "грузі*", "gruzj*", "тбилис*", "тбіліс*",
    "navaln*", "nawaln*", "навальн*",
)  # fmt: skip

_FREED_BY_DEAL = f"({_RELEASE} AND ({_ENVOYS} OR {_US}) NOT {_POW} NOT {_NOT_FREED})"

BELARUS_PRISONERS_QUERY = (
    f"{_UNIQUE} OR ({_BELARUSIAN_WORDS} NOT {_FOREIGN})"
    f" OR ({_BELARUS} AND ({_STRONG} OR {_BELARUSIAN_WORDS} OR {_NAMES}"
    f" OR ({_DETENTION} NOT {_OTHER}) OR {_FREED_BY_DEAL}))"
)

BUILTIN_STORIES = {"belarus-prisoners": BELARUS_PRISONERS_QUERY}
