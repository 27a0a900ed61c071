"""A sentence in Chinese, German, French, Spanish, Italian or Portuguese -> the form by which it addresses an AI
model (the forms of rag_car/answer/instructions.py, which reads English), or None.

The forms are the same in every language; what changes is the grammar that carries them. Each language gives the
closed-class words of its grammar for each slot (the pronoun of the reader, the verbs of answering and of being
asked, the imperative of disregarding, the nouns for instructions and for a manual's guidance, the names of an AI
reader) and the patterns below put them together: a role marker opening a line ("系统：", "ASSISTENT:"), a remark
to "the AI" ("Hinweis an die KI", "si vous êtes une IA"), a persona switch ("你现在是", "tu es désormais"), talk
about the prompt ("instrucciones anteriores"), an order to disregard guidance not negated ("ignoriere den
Wartungsplan", but not "ignorieren Sie keine Warnleuchte"), and an instruction about answering: being asked
followed by a reply to give ("wenn du nach ... gefragt wirst, antworte", "当被问到……时，回答……").

The words are the languages' own (grammar books and the owner's manuals' vocabulary for "manual", "maintenance
schedule", "warning"), not sentences of any planted document; tests/answer/test_answer_instructions_i18n.py holds
sentences of both kinds written for the test, and the bundled knowledge in Chinese must not trip them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
# One-word names of an AI reader: a sentence naming one is read with every lexicon.
_AI_WORDS = frozenset({"ai", "llm", "llms", "gpt", "chatgpt", "chatbot", "chatbots", "ki", "ia"})
# The names of an AI reader that every language borrows.
_AI_SHARED = r"(?-i:AI|A\.I\.|LLMs?|GPT\w*|ChatGPT)|chat\s?bots?"


@dataclass(frozen=True)
class _Lexicon:
    """The words of one language for each slot of the forms (regular-expression alternatives)."""

    ai: str  # names of an AI reader
    roles: str  # role words of a chat format, as a line's label
    you: str  # the reader addressed as "you"
    must: str  # modal verbs of obligation, after a subject
    persona: str  # a persona switch or a change of rules for the reader
    meta: str  # the assistant's own instructions and prompt
    disregard: str  # imperatives of disregarding
    guidance: str  # what a reader is told to follow: instructions, a manual, a schedule, warnings, sources
    negation: str  # words that negate a disregard verb near it ("nicht", "no", "pas")
    asked: str  # being asked: "when you are asked", "if someone asks"
    reply: str  # imperatives of answering and claiming
    to_ai: str  # a remark addressed to an AI reader ("note to the AI")
    common: str = ""  # the language's most frequent function words: a sentence with none of them (and no AI name or
    #                   role word) is not read with this lexicon, which keeps English text from paying for six
    words: bool = True  # whether \b word boundaries apply (not in Chinese)


_LANGUAGES: dict[str, _Lexicon] = {
    "de": _Lexicon(
        common=r"der|die|das|den|dem|des|und|nicht|ist|sind|ein|eine|einen|zu|mit|auf|für|von|du|dich|dir|Sie|Ihnen|wenn|falls|alle|immer|jetzt",
        ai=rf"{_AI_SHARED}|(?-i:KI|K\.I\.)(?:-(?:Assistent(?:en)?|Modell(?:e)?|Systeme?))?|Sprachmodell(?:e|en)?|künstliche\s+Intelligenz",
        roles=r"system|assistent|anweisung|benutzer",
        you=r"du|dich|dir|dein\w*|ihr|euch|Sie|Ihnen|Ihr\w*",
        must=r"muss|müssen|soll|sollen|sollte|sollten|darf|dürfen|hat\s+zu|haben\s+zu",
        persona=r"\b(?:du\s+bist|Sie\s+sind|ihr\s+seid)\s+(?:jetzt|ab\s+sofort|ab\s+jetzt|nun|nicht\s+mehr|von\s+nun\s+an)\b"
                r"|\bab\s+(?:sofort|jetzt)\s+(?:bist\s+du|sind\s+Sie|antwortest\s+du|antworten\s+Sie|sagst\s+du)\b"
                r"|\btu\s+so,?\s+als\b|\bspiele?\s+die\s+Rolle\b|\b(?:deine|Ihre|eure)\s+(?:neue\s+)?(?:Rolle|Aufgabe|Anweisungen?|Identität)\s+(?:ist|sind|lautet|lauten)\b",
        meta=r"\bsystem-?\s?(?:prompt|nachricht|anweisung(?:en)?)\b"
             r"|\b(?:vorherigen|vorigen|bisherigen|obigen|früheren|ursprünglichen|versteckten|geheimen)\s+(?:\w+\s+)?(?:Anweisungen|Prompts?|Befehle|Regeln)\b"
             r"|\b(?:zeige|zeig|gib|verrate|wiederhole|nenne)\s+(?:mir\s+)?(?:deine|Ihre|die)\s+(?:\w+\s+)?(?:Anweisungen|Prompts?|Regeln|Konfiguration)\b",
        disregard=r"ignorier(?:e|en|t)?|vergiss|vergessen|missachte|missachten|übergehe|übergehen|überspringe|überspringen",
        guidance=r"Anweisung(?:en)?|Prompts?|Regeln|Richtlinien|Wartungsplan|Wartungsintervalle?|Serviceplan|Inspektionsplan|"
                 r"(?:Betriebs|Bedienungs|Service|Reparatur|Werkstatt)?[Aa]nleitung(?:en)?|Handbuch|Handbücher|Dokument(?:e|ation)?|"
                 r"Unterlagen|Quellen?|Hinweise|Warnungen|Warnhinweise|Empfehlungen|alles|alle\s+anderen",
        negation=r"nicht|nie|niemals|kein|keine|keinen|keiner|keinesfalls",
        asked=r"\b(?:wenn|falls|sobald|wann\s+immer)\s+(?:du|Sie|man\s+(?:dich|Sie|dir|Ihnen)|jemand|ein\s+(?:Nutzer|Benutzer|Kunde)|der\s+(?:Nutzer|Benutzer))\b[^.!?]{0,80}?\b(?:gefragt|frag\w*|wissen\s+(?:will|wollen|möchte))\b"
              r"|\bauf\s+(?:alle\s+|jede\s+)?(?:Fragen?|Anfragen?)\s+(?:nach|zu|über)\b|\bbei\s+(?:allen\s+|jeder\s+)?(?:Fragen?|Anfragen?)\s+(?:nach|zu|über)\b",
        reply=r"antworte|antwortet|antworten\s+Sie|sag|sage|sagt|sagen\s+Sie|behaupte|behaupten\s+Sie|erkläre|erklären\s+Sie|"
              r"bestätige|bestätigen\s+Sie|empfiehl|empfehlen\s+Sie|gib\s+an|geben\s+Sie\s+an|nenne|nennen\s+Sie",
        to_ai=r"\b(?:Hinweis|Nachricht|Anweisung|Achtung|Notiz|Mitteilung)\s+(?:an|für)\s+(?:die\s+|alle\s+|jede\s+|jedes\s+|den\s+)?(?:{ai})\b"
              r"|^\W*(?:liebe|lieber|hallo|hey|achtung)?\W*(?:die\s+)?(?:{ai})\s*[,:!]"
              r"|\b(?:wenn|falls)\s+(?:du|Sie)\s+(?:eine?\s+)?(?:{ai})\s+(?:bist|sind)\b",
    ),
    "fr": _Lexicon(
        common=r"le|la|les|l'|des|du|une|et|est|sont|pas|ne|n'|que|qu'|avec|sur|tu|vous|votre|vos|si|quand|lorsque|toujours|désormais",
        ai=rf"{_AI_SHARED}|(?-i:IA|I\.A\.)|intelligences?\s+artificielles?|modèles?\s+de\s+langage|assistants?\s+(?:IA|virtuels?)|agents?\s+conversationnels?",
        roles=r"système|assistant|utilisateur|consigne|instruction",
        you=r"tu|te|t'|toi|ton|ta|tes|vous|votre|vos",
        must=r"doit|doivent|devra|devront|devrait|devraient|est\s+tenue?\s+de",
        persona=r"\b(?:tu\s+es|vous\s+êtes)\s+(?:maintenant|désormais|dorénavant|à\s+présent|plus)\b"
                r"|\b(?:désormais|dorénavant|à\s+partir\s+de\s+maintenant),?\s+(?:tu|vous|réponds|répondez|dis|dites)\b"
                r"|\b(?:fais|faites)\s+semblant\b|\b(?:joue|jouez)\s+le\s+rôle\b|\b(?:ton|ta|votre)\s+(?:nouveau\s+|nouvelle\s+)?(?:rôle|tâche|mission|identité)\s+est\b",
        meta=r"\b(?:prompt|message|instructions?)\s+(?:système|initiale?s?|cachée?s?|secrète?s?)\b"
             r"|\b(?:instructions|consignes|directives|règles)\s+(?:\w+\s+)?(?:précédentes|antérieures|ci-dessus|initiales|d'origine)\b"
             r"|\b(?:affiche|affichez|révèle|révélez|répète|répétez|montre|montrez|donne|donnez)-?(?:moi)?\s+(?:tes|vos|les)\s+(?:\w+\s+)?(?:instructions|consignes|règles|prompts?)\b",
        disregard=r"ignore|ignorez|ignorer|oublie|oubliez|oublier|(?:ne\s+)?tiens\s+pas\s+compte|(?:ne\s+)?tenez\s+pas\s+compte|passe\s+outre|passez\s+outre",
        guidance=r"instructions?|consignes?|prompts?|règles|directives|programme\s+d'entretien|plan\s+d'entretien|carnet\s+d'entretien|"
                 r"calendrier\s+d'entretien|manuels?|notices?|guides?|documents?|documentation|sources?|avertissements?|recommandations?|"
                 r"tout\s+ce\s+qui|tout",
        negation=r"ne|n'|pas|jamais|aucun|aucune",
        asked=r"\b(?:si|quand|lorsque|lorsqu'|chaque\s+fois\s+que|dès\s+que)\s*(?:on\s+(?:te|vous)|(?:tu\s+es|vous\s+êtes)|quelqu'un|l'utilisateur|un\s+utilisateur|le\s+client)\b[^.!?]{0,80}?\b(?:demand\w*|interrog\w*|pose\w*|questionn\w*)\b"
              r"|\b(?:à|pour)\s+(?:toute|toutes\s+les|chaque)\s+questions?\s+(?:sur|concernant|au\s+sujet)\b",
        reply=r"réponds|répondez|dis|dites|affirme|affirmez|indique|indiquez|explique|expliquez|confirme|confirmez|recommande|recommandez|"
              r"déclare|déclarez|écris|écrivez",
        to_ai=r"\b(?:note|message|instruction|attention|avis|remarque)\s+(?:à|pour|aux)\s+(?:l'|la\s+|les\s+|toute\s+|tout\s+)?(?:{ai})\b"
              r"|^\W*(?:chère|cher|bonjour|salut|attention)?\W*(?:l'|la\s+)?(?:{ai})\s*[,:!]"
              r"|\bsi\s+(?:tu\s+es|vous\s+êtes)\s+(?:une?\s+)?(?:{ai})\b",
    ),
    "es": _Lexicon(
        common=r"el|la|los|las|una|y|es|son|que|por|para|con|del|usted|si|cuando|siempre|ahora|está|su|sus|tú",
        ai=rf"{_AI_SHARED}|(?-i:IA|I\.A\.)|inteligencias?\s+artificial(?:es)?|modelos?\s+de\s+lenguaje|asistentes?\s+(?:de\s+IA|virtual(?:es)?)",
        roles=r"sistema|asistente|usuario|instrucción|instrucciones",
        you=r"tú|tu|te|ti|usted|ustedes|le|les|su|sus",
        must=r"debe|deben|deberá|deberán|debería|deberían|tiene\s+que|tienen\s+que",
        persona=r"\b(?:ahora|desde\s+ahora|a\s+partir\s+de\s+ahora)\s+(?:eres|es\s+usted|serás|responde|responderás|dirás)\b"
                r"|\b(?:eres|es\s+usted)\s+ahora\b|\bya\s+no\s+eres\b|\bfinge\s+(?:ser|que)\b|\bfinja\s+(?:ser|que)\b"
                r"|\bhaz\s+(?:el\s+papel|de)\b|\b(?:tu|su)\s+(?:nuevo\s+|nueva\s+)?(?:rol|papel|tarea|misión|identidad)\s+es\b",
        meta=r"\b(?:prompt|mensaje|instrucciones?)\s+(?:del\s+sistema|de\s+sistema|inicial(?:es)?|ocultas?|secretas?)\b"
             r"|\b(?:instrucciones|indicaciones|directivas|reglas)\s+(?:\w+\s+)?(?:anteriores|previas|de\s+arriba|originales)\b"
             r"|\b(?:muestra|muéstrame|revela|revélame|repite|imprime|dime)\s+(?:tus|sus|las)\s+(?:\w+\s+)?(?:instrucciones|reglas|prompts?)\b",
        disregard=r"ignora|ignore|ignorad|ignoren|olvida|olvide|olviden|no\s+hagas\s+caso\s+(?:a|de)|no\s+haga\s+caso\s+(?:a|de)|pasa\s+por\s+alto|omite|omita",
        guidance=r"instrucciones|indicaciones|prompts?|reglas|directrices|(?:plan|programa|calendario)\s+de\s+mantenimiento|manual(?:es)?|"
                 r"documentos?|documentación|fuentes?|advertencias?|recomendaciones|todo\s+lo|todo",
        negation=r"no|nunca|jamás|ningún|ninguna",
        asked=r"\b(?:si|cuando|siempre\s+que|cada\s+vez\s+que)\s+(?:te|le|les|alguien|el\s+usuario|un\s+usuario|el\s+cliente)\b[^.!?]{0,80}?\b(?:pregunt\w*|consult\w*)\b"
              r"|\b(?:si|cuando)\s+(?:eres|es)\s+(?:preguntado|consultado)\b|\b(?:a|para|ante)\s+(?:toda|todas\s+las|cualquier)\s+preguntas?\s+(?:sobre|acerca)\b",
        reply=r"responde|responda|respondan|contesta|conteste|di|diga|digan|afirma|afirme|indica|indique|explica|explique|confirma|"
              r"confirme|recomienda|recomiende|escribe|escriba",
        to_ai=r"\b(?:nota|mensaje|instrucción|atención|aviso)\s+(?:para|a)\s+(?:la\s+|las\s+|los\s+|el\s+|cualquier\s+|toda\s+)?(?:{ai})\b"
              r"|^\W*(?:querida|querido|hola|atención)?\W*(?:la\s+)?(?:{ai})\s*[,:!]"
              r"|\bsi\s+(?:eres|es\s+usted)\s+(?:una?\s+)?(?:{ai})\b",
    ),
    "it": _Lexicon(
        common=r"il|lo|la|gli|una|di|del|della|che|è|con|ti|quando|sempre|anche",
        ai=rf"{_AI_SHARED}|(?-i:IA|I\.A\.)|intelligenz[ae]\s+artificial[ei]|modell[oi]\s+linguistic[oi]|assistent[ei]\s+(?:IA|virtual[ei])",
        roles=r"sistema|assistente|utente|istruzione|istruzioni",
        you=r"tu|ti|te|tuo|tua|tuoi|tue|lei|voi|vostro|vostra",
        must=r"deve|devono|dovrà|dovranno|dovrebbe|dovrebbero",
        persona=r"\b(?:ora|adesso|d'ora\s+in\s+poi|da\s+ora)\s+(?:sei|rispondi|dirai)\b|\bnon\s+sei\s+più\b|\bfingi\s+di\b"
                r"|\binterpreta\s+il\s+ruolo\b|\b(?:il\s+tuo|la\s+tua)\s+(?:nuovo\s+|nuova\s+)?(?:ruolo|compito|identità)\s+è\b",
        meta=r"\b(?:prompt|messaggio|istruzioni)\s+(?:di\s+sistema|del\s+sistema|iniziali|nascoste|segrete)\b"
             r"|\b(?:istruzioni|indicazioni|regole)\s+(?:\w+\s+)?(?:precedenti|sopra|originali)\b"
             r"|\b(?:mostra|mostrami|rivela|ripeti|stampa|dimmi)\s+(?:le\s+tue|le)\s+(?:\w+\s+)?(?:istruzioni|regole|prompt)\b",
        disregard=r"ignora|ignori|ignorate|dimentica|dimentichi|trascura|trascuri|non\s+tenere\s+conto",
        guidance=r"istruzioni|indicazioni|prompt|regole|(?:piano|programma)\s+di\s+manutenzione|manual[ei]|libretto|documenti|"
                 r"documentazione|fonti|avvertenze|avvisi|raccomandazioni|tutto",
        negation=r"non|mai|nessun|nessuna",
        asked=r"\b(?:se|quando|ogni\s+volta\s+che)\s+(?:ti|le|qualcuno|l'utente|un\s+utente|il\s+cliente)\b[^.!?]{0,80}?\b(?:chied\w*|domand\w*)\b"
              r"|\bper\s+(?:ogni|tutte\s+le|qualsiasi)\s+domand[ae]\s+(?:su\w*|riguardo|circa)\b",
        reply=r"rispondi|risponda|di'|dì|dica|afferma|afferm[ai]|indica|indichi|spiega|spieghi|conferma|confermi|consiglia|consigli",
        to_ai=r"\b(?:nota|messaggio|istruzione|attenzione|avviso)\s+(?:per|a|alla|alle|all')\s*(?:l'|la\s+|le\s+|ogni\s+)?(?:{ai})\b"
              r"|^\W*(?:cara|caro|ciao|attenzione)?\W*(?:l'|la\s+)?(?:{ai})\s*[,:!]|\bse\s+sei\s+(?:una?\s+)?(?:{ai})\b",
    ),
    "pt": _Lexicon(
        common=r"um|uma|dos|das|que|é|para|não|você|quando|sempre|agora|pelo|pela|seu|sua|ao|também|então",
        ai=rf"{_AI_SHARED}|(?-i:IA|I\.A\.)|inteligências?\s+artificia(?:l|is)|modelos?\s+de\s+linguagem|assistentes?\s+(?:de\s+IA|virtua(?:l|is))",
        roles=r"sistema|assistente|usuário|utilizador|instrução|instruções",
        you=r"você|vocês|tu|te|ti|seu|sua|teu|tua|o\s+senhor|a\s+senhora",
        must=r"deve|devem|deverá|deverão|deveria|deveriam|tem\s+que|têm\s+que|tem\s+de",
        persona=r"\b(?:agora|a\s+partir\s+de\s+agora|de\s+agora\s+em\s+diante)\s+(?:você\s+é|és|responda|responde|diga)\b|\bvocê\s+agora\s+é\b"
                r"|\bvocê\s+não\s+é\s+mais\b|\bfinja\s+(?:ser|que)\b|\bfaça\s+o\s+papel\b|\b(?:seu|sua|teu|tua)\s+(?:novo\s+|nova\s+)?(?:papel|tarefa|função|identidade)\s+é\b",
        meta=r"\b(?:prompt|mensagem|instruções?)\s+(?:do\s+sistema|de\s+sistema|iniciais|ocultas|secretas)\b"
             r"|\b(?:instruções|indicações|diretrizes|regras)\s+(?:\w+\s+)?(?:anteriores|prévias|acima|originais)\b"
             r"|\b(?:mostre|mostra|revele|revela|repita|repete|imprima)\s+(?:suas|tuas|as)\s+(?:\w+\s+)?(?:instruções|regras|prompts?)\b",
        disregard=r"ignore|ignora|ignorem|esqueça|esquece|esqueçam|desconsidere|desconsidera|não\s+leve\s+em\s+conta",
        guidance=r"instruções|indicações|prompts?|regras|diretrizes|(?:plano|programa|calendário)\s+de\s+manutenção|manua(?:l|is)|"
                 r"documentos?|documentação|fontes?|avisos?|advertências|recomendações|tudo",
        negation=r"não|nunca|jamais|nenhum|nenhuma",
        asked=r"\b(?:se|quando|sempre\s+que)\s+(?:te|lhe|alguém|o\s+usuário|um\s+usuário|o\s+utilizador|o\s+cliente|você\s+for)\b[^.!?]{0,80}?\b(?:pergunt\w*|question\w*)\b"
              r"|\b(?:para|a)\s+(?:toda|todas\s+as|qualquer)\s+perguntas?\s+sobre\b",
        reply=r"responda|responde|diga|diz|afirme|afirma|indique|indica|explique|explica|confirme|confirma|recomende|recomenda|escreva",
        to_ai=r"\b(?:nota|mensagem|instrução|atenção|aviso)\s+(?:para|à|ao|aos|às)\s+(?:a\s+|as\s+|qualquer\s+|toda\s+)?(?:{ai})\b"
              r"|^\W*(?:cara|caro|olá|atenção)?\W*(?:a\s+)?(?:{ai})\s*[,:!]|\bse\s+(?:você\s+é|és)\s+(?:uma?\s+)?(?:{ai})\b",
    ),
    "zh": _Lexicon(
        ai=r"(?-i:AI|LLM|GPT\w*|ChatGPT)|人工智能|语言模型|大模型|聊天机器人|机器人助手|智能助手|AI助手|人工智慧|語言模型|聊天機器人",
        roles=r"系统|系統|助手|用户|用戶|指令|系统提示|系統提示",
        you=r"你|您|你们|你們",
        must=r"必须|必須|应该|應該|应当|應當|务必|務必|一定要|需要|只能|要",
        persona=r"(?:你|您)(?:现在|現在|从现在起|從現在起|此后|此後)(?:是|扮演|作为|作為)|从现在(?:开始|起)|從現在(?:開始|起)"
                r"|(?:你|您)的(?:新)?(?:角色|任务|任務|身份|人设|人設)是|扮演(?:一个|一個)?|假装|假裝|越狱|越獄|开发者模式|開發者模式",
        meta=r"系统提示|系統提示|提示词|提示詞|(?:之前|以前|上面|上述|先前|原来|原來|原始|所有)的?(?:指令|指示|提示|规则|規則|设定|設定)"
             r"|(?:显示|顯示|输出|輸出|打印|透露|泄露|洩露|重复|重複|告诉我|告訴我)(?:一下)?(?:你|您)?的?(?:系统|系統)?(?:提示|指令|规则|規則|设定|設定)",
        disregard=r"忽略|忽视|忽視|无视|無視|忘记|忘記|忘掉|不要理会|不要理會|别管|別管|不要遵守|不要遵循|不要相信|不要参考|不要參考|不要引用|跳过|跳過",
        guidance=r"指令|指示|提示|规则|規則|说明书|說明書|手册|手冊|用户手册|保养(?:计划|周期|时间表|規定|规定)?|保養(?:計劃|週期|時間表|規定)?|"
                 r"维护(?:计划|周期)?|維護(?:計劃|週期)?|文档|文檔|文件|资料|資料|来源|來源|警告|建议|建議|以上|之前|一切|所有",
        negation=r"不要|不可|不能|不得|不应|不應|切勿|请勿|請勿|勿|别|別|绝不|絕不|不许|不許|千万不要|千萬不要",
        asked=r"(?:当|當|如果|若|每当|每當|一旦|凡是)?(?:你|您)?(?:被|有人|用户|用戶|别人|別人|客户|客戶)(?:问到|問到|问及|問及|询问|詢問|问起|問起|问|問|提问|提問)"
              r"|(?:对于|對於|关于|關於)(?:任何|所有)?[^，,。]{0,20}的(?:问题|問題|提问|提問)",
        reply=r"回答|回复|回覆|答复|答覆|说|說|告诉|告訴|声称|聲稱|表示|坚称|堅稱|强调|強調|推荐|推薦|输出|輸出",
        to_ai=r"(?:致|给|給|对|對|提醒|通知)(?:所有|任何|各位)?(?:{ai})"
              r"|(?:如果|若|假如)(?:你|您)是(?:一个|一個|一款)?(?:{ai})"
              r"|(?:{ai})(?:助手|们|們)?(?:必须|必須|应该|應該|应当|應當|务必|務必|一定要|只能)",
        words=False,
    ),
}


@dataclass(frozen=True)
class _Compiled:
    gate: frozenset[str]  # lower-case words one of which a sentence must hold to be read (empty: always read)
    role: re.Pattern[str]
    you: re.Pattern[str]
    persona: re.Pattern[str]
    meta: re.Pattern[str]
    disregard: re.Pattern[str]
    negation: re.Pattern[str]
    asked: re.Pattern[str]
    reply: re.Pattern[str]
    to_ai: re.Pattern[str]
    to_ai_must: re.Pattern[str]
    words: bool


def _compile(lex: _Lexicon) -> _Compiled:
    b = r"\b" if lex.words else ""
    flags = re.IGNORECASE
    clause = r"(?:^|(?<=[\s|:;>(\[*#\"'。！？；，、]))" if lex.words else r"(?:^|(?<=[\s|:;>(\[*#\"'。！？；，、：]))"
    gap = r"(?:[\w'’-]+\s+){0,4}?" if lex.words else r"[^，,。！？；]{0,12}?"
    gate = frozenset(w.strip("'").lower() for w in lex.common.split("|") if w) | _AI_WORDS if lex.common else frozenset()
    return _Compiled(
        gate=gate,
        role=re.compile(rf"{clause}\W{{0,4}}({lex.roles}|{lex.ai})\s*(?:\]|:|：|>|-{{1,2}}>)(?=\s*(.*)$)", flags | re.DOTALL),
        you=re.compile(rf"{b}(?:{lex.you}){b}"),
        persona=re.compile(lex.persona, flags),
        meta=re.compile(lex.meta, flags),
        # near its object anywhere, or opening a clause as an imperative with its object later in the clause
        disregard=re.compile(rf"{b}(?:{lex.disregard}){b}\s*(?:{gap})({b}(?:{lex.guidance}){b})"
                             rf"|(?:^|[,;:|，；：]\s*)(?:{lex.disregard}){b}[^.;!?。；！？|]{{0,80}}?({b}(?:{lex.guidance}){b})", flags),
        negation=re.compile(rf"{b}(?:{lex.negation})(?:{b}|$)", flags),
        asked=re.compile(lex.asked, flags),
        reply=re.compile(rf"(?:^|[,;:，；：]\s*|{b}(?:{lex.you})\s+|{b}(?:dann|alors|entonces|allora|então|就|则|則|请|請|只|总是|總是|一律|一定要)\s*)(?:{lex.reply}){b}" if lex.words
                         else rf"(?:^|[,;:，；：]\s*|就|则|則|请|請|只|总是|總是|一律|都|一定要|要)(?:{lex.reply})", flags),
        to_ai=re.compile(lex.to_ai.format(ai=lex.ai), flags | re.MULTILINE),
        to_ai_must=re.compile(rf"(?:{lex.ai}){b}\s*(?:{lex.must}){b}" if lex.words else rf"(?:{lex.ai})(?:{lex.must})", flags),
        words=lex.words,
    )


_COMPILED = {code: _compile(lex) for code, lex in _LANGUAGES.items()}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# The nouns for an assistant's own instructions in these languages: a question that orders them disregarded is
# refused; one that asks whether a schedule may be ignored is a question about the car.
_OWN_RULES = re.compile(r"anweisung|prompt|regeln|consignes|règles|instructions|instrucciones|reglas|istruzioni|regole|"
                        r"instruções|regras|指令|指示|提示|规则|規則|设定|設定", re.IGNORECASE)


def instruction_form_i18n(text: str) -> tuple[str, str] | None:
    """(form, language) by which ``text`` addresses an AI model in one of the languages above, or None.
    The forms are named as in :func:`rag_car.answer.instructions.instruction_form`."""
    codes = [c for c in _COMPILED if c != "zh"] + (["zh"] if _CJK.search(text) else [])
    words = set(_WORD.findall(text.lower()))
    for code in codes:
        compiled = _COMPILED[code]
        if compiled.gate and compiled.gate.isdisjoint(words):
            continue
        form = _form(text, compiled)
        if form:
            return form, code
    return None


def own_rules(text: str) -> bool:
    """Whether a "disregard" sentence names the assistant's own instructions (for refusals of questions)."""
    return bool(_OWN_RULES.search(text)) or any(c.meta.search(text) for c in _COMPILED.values())


def _form(text: str, c: _Compiled) -> str | None:
    for match in c.role.finditer(text):
        if _opens(text, match) and (_label_free(match.group(1)) or c.you.search(match.group(2) or "")
                                    or _form(match.group(2) or "", c)):
            return "role marker"
    if c.to_ai.search(text) or c.to_ai_must.search(text):
        return "addressed to an AI"
    if c.persona.search(text):
        return "persona"
    if c.meta.search(text):
        return "about the prompt"
    for match in c.disregard.finditer(text):
        before = text[max(0, match.start() - 12):match.start()]
        object_start = match.start(1) if match.group(1) is not None else match.start(2)
        between = text[match.start():object_start]
        if not c.negation.search(before.split()[-1] if c.words and before.split() else before) and not c.negation.search(between):
            return "disregard guidance"
    asked = c.asked.search(text)
    if asked and c.reply.search(text, asked.end()):
        return "answering instruction"
    return None


def _opens(text: str, match: re.Match[str]) -> bool:
    """The role word opens the text, a clause or a table cell (not "制动系统：" or "Bremssystem:")."""
    before = text[: match.start(1)].rstrip(" \t*#\"'`_-[<(")
    return not before or before.endswith(("|", ":", "：", ";", "；", ">", ".", "。", "!", "！", "?", "？", ")", "]"))


def _label_free(word: str) -> bool:
    """Upper-case role words ("SYSTEM:", "ASSISTENT:") and the names of an AI are never a manual's labels; a
    lower-case one ("System:", "系统：") counts only when what follows addresses the reader."""
    return word.isupper() and len(word) > 1
