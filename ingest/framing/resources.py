"""Per-language word lists of the voice rules (``ingest.framing.voice``), as cue patterns
(``ingest.framing.codebook`` syntax: ``word``, ``word*``, ``(a|b)``, ``...``).

A codebook may add to any list in its ``[languages.<code>]`` table (``RESOURCE_KEYS``).
Built in: English, Russian, Belarusian (both spelling norms), Ukrainian, Polish,
Lithuanian and German.

* ``reporting`` — verbs of saying: what follows is indirect speech (``quoted``); a verb
  after the speech ("…, the ministry said") makes the speech before it quoted.
* ``labelling`` — verbs with which the outlet reports someone else's framing without
  quoting it (calls them, presents … as, бачыць у іх, przedstawia … jako, vadina,
  bezeichnet … als): the words after them are ``distanced``.
* ``sources`` — source markers (according to, по словам, паводле, zdaniem, pasak, laut):
  the whole sentence is ``quoted``.
* ``framings`` — markers of a framing reported as someone else's (in the official
  version, по официальной версии, w oficjalnej narracji): the whole sentence is
  ``distanced``.
* ``reportive`` — words that make the whole sentence reported speech by grammar alone
  (German Konjunktiv I: sei, habe, werde; мол, дескать, маўляў, мовляв, girdi): ``quoted``,
  continuing the last speaker.
* ``scare_markers`` — so-called, так называемые, angeblich: the next words are distanced.
* ``negators``, ``transparent``, ``post_negators`` — negation (``ingest.framing.detect``);
  ``rejecting`` — verbs of denial: a frame in what they deny is no use of it ("denies that
  sanctions were eased in exchange", "отрицают, что …", "bestritt, dass …").
* ``speaker_words``, ``rubrics`` — for ``Speaker: claim`` and ``claim — Speaker`` headlines.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class LanguageResources:
    """Cue patterns for one language's speech and negation (see the module docstring)."""

    reporting: tuple[str, ...] = ()
    labelling: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    framings: tuple[str, ...] = ()
    reportive: tuple[str, ...] = ()
    scare_markers: tuple[str, ...] = ()
    negators: tuple[str, ...] = ()
    rejecting: tuple[str, ...] = ()
    transparent: tuple[str, ...] = ()
    post_negators: tuple[str, ...] = ()
    speaker_words: tuple[str, ...] = ()
    rubrics: tuple[str, ...] = ()

    def extended(self, other: LanguageResources) -> LanguageResources:
        """These resources with ``other``'s patterns added to each list."""
        return LanguageResources(
            **{f.name: (*getattr(self, f.name), *getattr(other, f.name)) for f in fields(self)}
        )


RESOURCE_KEYS = tuple(f.name for f in fields(LanguageResources))


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_EN = LanguageResources(
    reporting=(*_w("""
        said says say saying told tells claimed claims claiming stated argued argues insisted
        insists accused accuses accusing denied denies rejected rejects warned warns added adds
        noted stressed stresses emphasised emphasized emphasises emphasizes asserted asserts
        wrote writes alleged alleges announced announces declared declares explained explains
        acknowledged admitted recalled reported confirmed commented urged believes maintains
        maintained insisting quoted quoting reporting warn claim argue insist accuse deny
        reject note stress emphasise emphasize assert allege announce declare explain believe
        maintain admit confirm urge add write report complained complains told tweeted posted
        confirms describe describes described describing present presents presented
        recounted recounts recount thanked thanks praised praises repeated repeats
        reiterated reiterates
        """), "in a statement", "speaking on condition", "drew attention", "pointed out",
        "made clear", "made it clear"),
    labelling=(
        "(call|calls|called|calling)", "(brand|brands|branded|branding)",
        "(label|labels|labelled|labeled|labelling|labeling)", "(dub|dubs|dubbed|dubbing)",
        "termed", "(portray|portrays|portrayed|portraying)",
        "(depict|depicts|depicted|depicting)", "(hail|hails|hailed|hailing)",
        "(tout|touts|touted|touting)", "(see|sees|saw|seeing) ... as",
        "(paint|paints|painted|painting) ... as", "(cast|casts|casting) ... as",
        "(frame|frames|framed|framing) ... as", "(regard|regards|regarded) ... as",
        "(view|views|viewed) ... as", "(recognise*|recognize*) ... as",
        "(characterise*|characterize*)", "(condemned|condemns|condemn) ... as",
        "in the eyes of", "(compare|compares|compared|comparing) ... (to|with)",
    ),
    sources=("according to", "in the words of", "in (his|her|their) words", "quoted by", "citing"),
    framings=(
        "(official|officials|state|kremlin) (telling|version|narrative|account|line|framing)",
        "as (state|official) media (put|tell|have) it", "on state television",
        "in the (official|state) (media|press)", "for (state|official) (media|television)",
        "(mock|mocks|mocked|mocking|ridicule*|deride*|derided)",
        "(dismiss|dismisses|dismissed) ... as",
    ),
    scare_markers=("so-called", "alleged*", "supposed*", "purported*", "self-styled",
        "quote unquote",
    ),
    negators=(*_w("""
        not no never neither nor none without isn't aren't wasn't weren't don't doesn't
        didn't cannot can't won't hasn't haven't
        """), "rather than", "instead of"),
    rejecting=(
        "(deny|denies|denied|denying) that",
        "(deny|denies|denied|denying) (any|claims|reports|mistreating|torturing|holding)",
        "(reject|rejects|rejected|rejecting|dismissed|dismisses)"
        " (claims|reports|talk|suggestions|accusations|allegations|the)",
    ),
    transparent=_w("""
        a an the any are is was were be been being really actually merely simply just longer
        considered regarded deemed seen recognised recognized as these those such all of them
        they genuine real true ever even more there can could will would should act acts sign
        gesture case matter question subject kind form about
        """),
    speaker_words=_w("""
        president envoy minister spokesman spokeswoman spokesperson official officials leader
        ambassador ministry opposition activist analyst of the for us u s eu kgb state media
        """),
    rubrics=_w("""
        analysis comment opinion explainer exclusive update live breaking video photo photos
        watch listen editorial review podcast timeline factbox column commentary feature
        investigation profile obituary letter view fact check
        """),
)  # fmt: skip

_RU = LanguageResources(
    reporting=(*_w("""
        сказал* заявил* заявля* сообщил* сообща* отметил* отмеча* подчеркнул* подчеркива*
        полагает полагают утвержда* пояснил* добавил* рассказал* рассказыва* говор* обвинил*
        обвиня* настаива* заверил* заверя* напомнил* указал* констатировал* призвал* призыва*
        пишет пишут написал* передаёт цитиру* уточнил* объяснил* объясня* уверяет уверяют
        прокомментировал* ответил* подтвердил* отрицает отрицают отрицал* объявил* убеждён*
        напомина* предупредил* предупрежда* считает считают считал* уверен* убежден* настаива*
        поблагодарил* благодарит похвалил* хвалит повторил* сообщается заявляется
        подчеркивается утверждается отмечается говорится представил* представля* преподнос*
        изобража*
        """), "обратил* внимание", "дал* понять"),
    labelling=(
        *_w("назвал* называ* охарактеризовал* характеризу* окрестил* именует именуют изобража*"),
        "(представил*|представля*|преподнос*|подал*|пода*) ... как",
        "(видит|видят|видел*) в", "(счита*) (их|его|ее|это|эти|этих)", "(клеймит|заклеймил*)",
        "сравнива* с", "(представлять|представля*|выставля*) себя",
    ),
    sources=("по (словам|мнению|данным|информации|оценкам|версии)", "как сообщ*", "согласно",
             "со ссылкой на", "как (заявил*|сказал*|пишет|отметил*|передает)"),
    framings=("по официальной версии",
              "в (официальн*|провластн*|государственн*) (сми|медиа|трактовк*|версии)",
              "в трактовке", "в изложении", "в глазах"),
    reportive=("мол", "дескать", "якобы мол"),
    scare_markers=("так называем*", "якобы", "мним*", "пресловут*", "так именуем*"),
    negators=("не", "нет", "ни", "никак*", "ничего", "вместо", "без"),
    rejecting=("(отрицают|отрицает|отрицал*|опроверг*|опровергают|опровергает|отвергают|отвергает|отверг*)",),
    transparent=_w("""
        являются является являлись являлся был была были было будут есть это эти все всех
        всяких каких либо какие считаются считается признаны признаются никакие может могут
        могли быть будет акт актом акта жест жестом проявление проявлением признак предметом
        вопрос вопросом никакой никакая никакого
        """),
    post_negators=("нет",),
    speaker_words=_w("""
        президент посол министр глава лидер спецпосланник посланник пресс секретарь мид
        представитель оппозиция правозащитник эксперт политолог по делам кгб
        """),
    rubrics=_w("""
        комментарий анализ мнение колонка видео фото эксклюзив интервью разбор объясняем
        обзор репортаж расследование
        """),
)  # fmt: skip

_BE = LanguageResources(
    reporting=(*_w("""
        сказаў сказала сказалі расказал* расказва* заявіў заявіла заявілі заяўля* паведамі*
        паведамля* адзначы*
        адзнача* падкрэслі* лічыць лічаць кажа кажуць казаў казала расказаў распавя*
        распавёў дадаў дадала сцвярджа* абвінава* заклікаў заклікала заклікалі заклікае піша
        пішуць напісаў тлумачы* растлумачы* патлумачы* нагадаў нагадала пацвердзі* адмаўля*
        перакананы нагадва* папярэдзі* папярэджва* запэўні* запэўнява* тлумачыць
        падзякава* дзякуе пахваліў* хваліць паўтарыў* паведамляецца сцвярджаецца
        адзначаецца падкрэсліваецца прадставі* прадстаўля* падносі* абвясці*
        """), "звярну* увагу", "дал* зразумець"),
    labelling=(
        *_w("назваў назвала назвалі называ* ахарактарызава* характарызу* імену*"),
        "(прадставі*|прадстаўля*|падносі*|падае|падаюць|падаў|падалі) ... як",
        "(бачыць|бачаць) у", "(лічыць|лічаць|лічыў) (іх|яго|яе|гэта|гэтых)",
        "параўноўва* з", "(падаваць|падае|падаюць|выстаўля*) сябе",
    ),
    sources=("паводле", "па (словах|даных|дадзеных|інфармацыі|ацэнках)", "на думку",
             "як (паведамі*|заявіў*|піша|перадае)", "са спасылкай на"),
    framings=("паводле афіцыйнай версіі",
              "у (афіцыйн*|праўладн*|дзяржаўн*) (смі|медыя|трактоўц*|версіі)", "у трактоўцы"),
    reportive=("маўляў",),
    scare_markers=("так званы*", "гэтак званы*", "нібыта", "сумнавядом*"),
    negators=("не", "ні", "няма", "ніяк*", "нічога", "замест", "без"),
    rejecting=("(адмаўляюць|адмаўляе|адмаўляў*|абвярга*|абверг*|адкідаюць|адкідае|адкінул*)",),
    transparent=_w("""
        з'яўляюцца з'яўляецца былі быў была было будуць ёсць гэта гэтыя усе ўсе усіх ўсіх
        ніякія лічацца лічыцца прызнаныя можа могуць быць будзе акт актам акта жэст жэстам
        праява праявай прадметам пытанне пытаннем ніякі ніякая
        """),
    post_negators=("няма",),
    speaker_words=_w("""
        прэзідэнт пасол міністр кіраўнік лідар пасланнік спецпасланнік прэс сакратар мзс
        прадстаўнік апазіцыя апазыцыя праваабаронца праваабаронцы эксперт палітоляг палітолаг
        кдб вясна
        """),
    rubrics=_w("каментар аналіз меркаванне калонка відэа фота інтэрв'ю агляд рэпартаж"),
)  # fmt: skip

_UK = LanguageResources(
    reporting=(*_w("""
        сказав сказала сказали заявив заявила заявили заявля* повідоми* повідомля* зазначи*
        зазнача* наголоси* наголошу* вважає вважають каже кажуть розповів розповіла розповіли
        розповіда* додав додала стверджу* звинувачу* закликав закликала закликали закликає
        пише пишуть написав пояснив пояснила нагадав підкресли* підтверди* нагаду* попередив
        попередила попередили попереджа* запевни* запевня* переконаний представи* представля*
        оголоси* оголошу* подякува* дякує
        похвали*
        """), "зверну* увагу", "дав* зрозуміти", "дала зрозуміти"),
    labelling=(
        *_w("назвав назвала назвали назива* охарактеризува* характеризу* іменує іменують"),
        "(представи*|представля*|подає|подають|подав|подали|подаю*) ... як",
        "(бачить|бачать) в", "(вважа*) (їх|його|її|це)", "порівню* (з|із)",
        "(подавати|подає|подають|виставля*) себе",
    ),
    sources=("за (словами|даними|інформацією|оцінками)", "на думку", "згідно з",
             "як (повідоми*|заявив*|пише|передає)", "з посиланням на"),
    framings=("за офіційною версією",
              "в (офіційн*|провладн*|державн*) (змі|медіа|трактуванн*|версії)", "у трактуванні"),
    reportive=("мовляв",),
    scare_markers=("так зван*", "нібито", "горезвісн*"),
    negators=("не", "ні", "немає", "нема", "жодн*", "замість", "без"),
    rejecting=("(заперечують|заперечує|заперечу*|заперечив*|спростову*|спростува*|відкидають|відкидає|відкинул*)",),
    transparent=_w("""
        є був була були було будуть це ці всі усі вважаються визнані може можуть бути акт
        актом жест жестом прояв проявом предметом питанням жодні жодних
        """),
    post_negators=("немає", "нема"),
    speaker_words=_w("""
        президент посол міністр глава лідер посланник речник мзс представник опозиція"
    """),
    rubrics=_w("коментар аналіз думка колонка відео фото інтерв'ю огляд репортаж"),
)  # fmt: skip

_PL = LanguageResources(
    reporting=(*_w("""
        powiedział* mówi mówią mówił* stwierdził* stwierdza twierdzi* oświadczył* oświadcza
        podkreślił* podkreśla* dodał* dodaje przekazał* poinformował* informuje uważa*
        zaznaczył* zaznacza wezwał* wzywa* ocenił* ocenia napisał* pisze piszą przyznał*
        zapewnił* zapewnia* przekonuje oskarż* zaprzecza* twierdz* ostrzegł* ostrzega*
        przypomniał* przypomina* relacjonuje relacjonował* opowiada* opowiedział*
        podziękował* dziękuje pochwalił* chwali* wyjaśni* tłumaczy* tłumaczył* wskazał*
        wskazuje zauważył* oznajmił* ogłosił* zapowiedział* poinformowano przekazano podkreśla
        powtórzył* twierdzą przedstawi* przedstawia* ukazuj*
        """), "zwróci* uwagę", "zwraca* uwagę", "wynika z", "dał* do zrozumienia"),
    labelling=(
        *_w("nazwał* nazywa* określił* określa* określają"),
        "(przedstawi*|przedstawia*|przedstawiaj*|ukazuj*|ukazał*|pokazuj*) ... jako",
        "(widzi|widzą) w", "(uważa*) (ich|go|ją|to) za", "(uznaje|uznają|uznał*) ... (za)",
        "porówn* (do|z)", "(przedstawiać|przedstawia|kreuje|kreować) się",
    ),
    sources=("zdaniem", "według", "jak (podał*|poinformował*|przekazał*|podaje|pisze|twierdzi)",
             "cytowan*", "powołując się na"),
    framings=("w (oficjalnej|państwowej|reżimowej) (narracji|wersji|propagandzie)",
              "według oficjalnej wersji", "w (oczach|ujęciu)"),
    reportive=("jakoby",),
    scare_markers=("tak zwan*", "tzw", "rzekom*", "domniema*"),
    negators=("nie", "ani", "żadn*", "zamiast", "bez", "brak"),
    rejecting=("(zaprzecza*|zaprzeczył*|dementuj*|zdementował*|odrzuca*|odrzucił*)",),
    transparent=_w("""
        są był była byli było będą to ci te wszyscy jest uważani uznani ma mamy może mogą być
        akt aktem gest gestem przedmiotem żadnymi żadni
        """),
    speaker_words=_w("""
        prezydent ambasador minister szef lider wysłannik rzecznik msz przedstawiciel opozycja"
    """),
    rubrics=_w("komentarz opinia analiza wideo zdjęcia wywiad felieton reportaż"),
)  # fmt: skip

_LT = LanguageResources(
    reporting=(*_w("""
        sakė sako sakydamas sakydama pasakė pareiškė pareiškia teigė teigia tvirtino tvirtina
        pabrėžė pabrėžia pažymėjo pažymi nurodė nurodo pridūrė priduria pranešė praneša
        informavo patikino patikina rašo rašė parašė paaiškino aiškino aiškina kaltino kaltina
        neigė neigia perspėjo įspėjo ragino ragina priminė primena pasakojo pasakoja
        komentavo mano manė atsakė patvirtino akcentavo kalbėjo padėkojo dėkojo gyrė
        pabrėžiama teigiama pranešama skelbiama nurodoma paragino pakartojo paskelbė skelbia
        pateikia pateikė pristato pristatė vaizduoja
        pagyrė įsitikinęs įsitikinusi
        """), "atkreip* dėmes*", "leido suprasti"),
    labelling=(
        *_w("vadina vadino pavadino vadinamas vadinami"),
        "(pateikia|pateikė|pristato|pristatė|vaizduoja|vaizdavo) ... kaip",
        "(mato|matė) ... kaip", "lygin* su", "(pristato|pristatyti|vaizduoja) save",
    ),
    sources=("pasak", "anot", "(jo|jos|jų) (teigimu|nuomone|žodžiais)", "duomenimis", "teigimu",
             "kaip (pranešė|teigė|rašo|skelbia|informavo)", "remiantis"),
    framings=("pagal oficialiąją versiją", "oficialiosios versijos",
              "(valstybinės|oficialiosios|režimo) (žiniasklaidos|propagandos)"
              " (teigimu|pateikimu|versija)"),
    reportive=("girdi", "esą", "esąs", "esanti", "esantys"),
    scare_markers=("vadinam*", "tariam*", "neva", "tariamai"),
    negators=("ne", "nė", "nei", "jokio", "jokių", "jokie", "jokia", "vietoj", "be", "nėra"),
    rejecting=("(neigia|neigė|paneigė|paneigia|atmeta|atmetė)",),
    transparent=_w("yra buvo bus tai šie visi tik laikomi gali būti aktas aktu gestas gestu"),
    post_negators=("nėra",),
    speaker_words=_w("""
        prezidentas ambasadorius ministras vadovas lyderis pasiuntinys atstovas urm opozicija"
    """),
    rubrics=_w("komentaras analizė nuomonė vaizdo foto interviu apžvalga reportažas"),
)  # fmt: skip

_DE = LanguageResources(
    reporting=(*_w("""
        sagte sagt sagten sagen erklärte erklärt erklärten betonte betont betonten teilte teilt
        mitteilte mitteilten berichtete berichtet berichten schrieb schreibt warnte warnt
        behauptete behauptet behaupten warf wirft vorwarf kritisierte kritisiert forderte
        fordert versicherte versichert bekräftigte bestätigte bestätigt meinte meint räumte
        erinnerte unterstrich hieß heißt verkündete verkündet argumentierte argumentiert
        beklagte beklagt zitiert zitierte äußerte äußert sprach spricht erzählte erzählt
        dankte dankt lobte lobt wiederholte wiederholt hieß
        """), "wies ... hin", "machte deutlich", "macht deutlich"),
    labelling=(
        *_w("bezeichnet bezeichnete bezeichneten bezeichnen nennt nannte nannten nennen"),
        "(stellt|stellte|stellen|stellten) ... (als|dar)", "(gilt|gelten|galt|galten) ... als",
        "(sieht|sehen|sah|sahen) ... als", "(feiert|feierte|feiern) ... als",
        "(darstellt|darstellte|darstellen|dargestellt)", "(betrachtet|betrachten) ... als",
        "(brandmarkt|brandmarkte|brandmarken)", "(wertet|werten|wertete) ... als",
        "(sieht|sehen|sah|sahen) in", "(inszeniert|inszenieren|inszenierte) sich",
        "(vergleicht|vergleichen|verglich) ... mit",
    ),
    sources=("laut", "nach (angaben|ansicht|worten|einschätzung|darstellung)", "zufolge",
             "wie (er|sie|es) ... (sagte|mitteilte|erklärte|betonte)",
             "wie (der|die|das) ... (mitteilte|sagte|erklärte|berichtete)",
             "(seinen|ihren) worten"),
    framings=("(offiziellen|staatlichen) (darstellung|lesart|version|medien|propaganda)",
              "in der (offiziellen|staatlichen) (darstellung|lesart|version)", "aus sicht",
              "(verspotten|verspottet|verspotteten|verhöhnen|verhöhnt)", "weist ... zurück",
              "(worden|gewesen) sein"),
    reportive=_w("""
        sei seien habe werde könne müsse dürfe wolle gebe bestehe bleibe stehe
        liege gehe komme wisse handele handle verfüge entscheide brauche diene
        """),
    scare_markers=("sogenannt*", "angeblich*", "vermeintlich*", "mutmaßlich*", "soll", "sollen",
        "sollte",
    ),
    negators=("nicht", "kein", "keine", "keinen", "keiner", "keinem", "keines", "nie", "niemals",
              "ohne", "statt", "anstatt"),
    rejecting=(
        "(bestreitet|bestreiten|bestritt|bestritten|dementiert*|dementierte*)",
        "weist ... zurück", "wies ... zurück", "(zurückgewiesen|zurückweisen)",
    ),
    transparent=_w("""
        sind ist war waren sei seien gewesen werden wird wurden die der das diese alle als
        einfach wirklich echte echten akt gesten geste ein eine einen
        """),
    speaker_words=_w("""
        präsident botschafter minister chef sprecher sprecherin gesandter außenministerium
        opposition"
    """),
    rubrics=_w("kommentar analyse meinung video foto interview überblick reportage"),
)  # fmt: skip

DEFAULT_RESOURCES: dict[str, LanguageResources] = {
    "en": _EN, "ru": _RU, "be": _BE, "uk": _UK, "pl": _PL, "lt": _LT, "de": _DE,
}  # fmt: skip
