"""Synthetic wording for interview transcripts, documents and meeting field notes.

Sentences are templates per codebook code with slots: {name} (a titled person of the case,
which redaction must later remove), {area} (the case's clinical area), {partner} (a partner
organisation). Every sentence is invented for the demo; none quotes a participant.
"""

from __future__ import annotations

import random

INTERVIEW: dict[str, tuple[str, ...]] = {
    "Governing body strategy": (
        "At governing body level we set out a five-year strategy for {area}, and the board has held to it even when money got tight.",
        "{name} took the strategy for {area} to the governing body and got it adopted as a corporate priority.",
        "The board has to see the whole commissioning cycle, from needs assessment to monitoring outcomes, and that is a different skill from running a surgery.",
    ),
    "Strategic gap": (
        "Honestly, very few of the GPs on the board think strategically; most of the strategic work falls to the managers.",
        "We have good clinicians on the governing body, but not many who can hold the whole system in their heads at that level.",
        "When it comes to the big strategic calls, it is usually the accountable officer and the finance team who shape them, not the clinical members.",
    ),
    "Programme board work": (
        "The real work on {area} happens at the programme board, where clinical leads and providers sit round the same table every month.",
        "{name} chairs the programme board for {area} and turns the big plan into protocols people can actually use.",
        "The programme board is where the pathway gets designed line by line, with the provider clinicians in the room.",
    ),
    "Mediating perspectives": (
        "A lot of my time on the programme board goes on translating between what the managers want and what clinicians think is safe.",
        "{name} is very good at holding the clinical view and the financial view together without letting either side walk out.",
        "At that middle level you are constantly brokering: the trust wants one thing, the practices another, and the budget a third.",
    ),
    "Front-line implementation": (
        "In the end it is the GPs and nurses in the localities who make the new service for {area} work on a wet Tuesday morning.",
        "{name} went round every practice in the locality to show people how the new referral route works.",
        "You can agree anything on paper, but unless someone at the front line owns it, nothing changes for patients.",
    ),
    "Peer credibility": (
        "Other GPs listen to a colleague who still does surgeries; they do not listen to a slide pack from the CCG.",
        "{name} still runs a full list, so when the message comes from that direction the practices believe it.",
        "Peer respect is the currency here: a practising GP can ask colleagues to change in a way a manager never could.",
    ),
    "Building networks": (
        "Most of what we achieved came from relationships built over years with the community teams, the council and the voluntary groups.",
        "{name} spends a lot of time simply talking to people across {partner} and the voluntary sector, and that network is what gets things moving.",
        "We built a network of clinicians across the organisations, so problems get sorted by a phone call rather than a contract meeting.",
    ),
    "Sparing use of contract levers": (
        "We could have put the contract out to tender, but nobody wanted to destabilise {partner} when they were already struggling.",
        "The contract levers are there, but we have hardly used them; the feeling is that providers are doing their best in a difficult year.",
        "Taking money away from {partner} would have felt like punishing people we have to work with for the next ten years.",
    ),
    "Top-down direction": (
        "Occasionally someone has to stand up and say this is what we are doing on {area}, full stop, and that is what {name} did.",
        "There is still a command-and-control instinct in the NHS, and some of our leaders reach for it when deadlines loom.",
        "The model of one leader driving everything does not fit a membership organisation like ours.",
    ),
    "Non-positional leaders": (
        "Some of the most influential GPs here hold no formal post at all; people follow them because of what they have built.",
        "{name} is not on the board, but when the practices want to know whether something is worth doing, that is who they ring.",
        "The informal leaders in the localities often move things faster than anyone with a title.",
    ),
    "Bending the rules": (
        "We got the pilot going by doing it first and sorting the paperwork afterwards, which did not make us popular with governance.",
        "{name} has little patience with procedures and just gets on with it, which is sometimes exactly what is needed.",
        "A fair amount of what worked was done slightly under the radar, outside the formal sign-off process.",
    ),
    "Evidence and rigour": (
        "The GPs on the board keep asking what the evidence is and what outcome we expect, and that has sharpened our business cases.",
        "{name} will always ask how we will know whether it worked, which forces a bit of rigour into every proposal.",
        "Clinical members bring a discipline about outcomes and value that was sometimes missing from the old PCT papers.",
    ),
    "Clinical framing": (
        "An overspend is a finance problem until a GP explains what it means for patients; then the practices start to listen.",
        "{name} turned the prescribing budget into a conversation about patient safety, and behaviour changed within months.",
        "Clinicians can reframe a managerial target as a clinical question, and that is when it gets traction with colleagues.",
    ),
    "Standing together": (
        "When I present a plan on my own the room picks holes in it; when a respected GP stands beside me, the objections fall away.",
        "{name} and the accountable officer present every major change together, and that joint message carries far more weight.",
        "We learnt to share the platform: the manager explains the money, the clinician explains why it is right for patients.",
    ),
    "Shared interests": (
        "What holds clinicians and managers together here is a shared interest in safety and in not wasting money, not the structure chart.",
        "We started calling it an alliance, because it is more than mediating; both sides want things from the same change.",
        "The relationship between the clinical chair and the managers took years to build, but it now lets us tackle hard dilemmas.",
    ),
    "Organisational future": (
        "Nobody knows whether the CCG will exist in three years, and that uncertainty makes it hard to ask people to commit.",
        "Every time we get a plan settled, another national announcement changes what the CCG is supposed to be for.",
        "{name} put it bluntly at a board seminar: why build something if the organisation may not be here to finish it?",
    ),
    "Mergers": (
        "There is constant talk of merging with our neighbours, and a lot of energy goes into that rather than into services.",
        "We already share a management team with the CCG next door, and many assume a formal merger is only a matter of time.",
        "The merger discussions have unsettled staff; people are applying for other jobs rather than waiting to see.",
    ),
    "Disillusioned GPs": (
        "Many of the GPs who were enthusiastic in 2013 are now disillusioned and have quietly stepped back.",
        "{name} told me the CCG has become just another bureaucracy, and that is why some colleagues no longer bother.",
        "There is a sense among the membership that we were promised control and given responsibility without power.",
    ),
    "Sustainability and transformation plans": (
        "Since the STP arrived, the big decisions about {area} are taken on a much larger footprint, and the CCG feels side-lined.",
        "The STP plan was written largely by consultants, and our board saw it only after the main choices had been made.",
        "Transformation money now flows through the STP, so that is where the ambitious clinicians are putting their effort.",
    ),
    "Federations and accountable care": (
        "The GP federation looks like a more attractive place to lead from than the commissioning side these days.",
        "{name} now spends more time on the federation than on the CCG, because that is where services are actually being built.",
        "Talk of an accountable care organisation with the council has drawn attention away from the CCG's own committees.",
    ),
    "Recruiting GPs to boards": (
        "We advertised the GP seats on the governing body three times last year and still could not fill them.",
        "Recruiting clinicians onto the board is getting harder; younger GPs do not see it as a sensible use of their time.",
        "When {name} stood down there was simply no one willing to take the seat.",
    ),
    "Competition and contracts": (
        "The original idea was that we would use purchasing power and competition to drive quality, but that has largely faded.",
        "We did tender the service for {area}, and the procurement rules shaped the whole thing more than the clinical model did.",
        "Contracts with {partner} are still negotiated as if we were adversaries, which sits oddly with all the talk of integration.",
    ),
    "Plans and directives": (
        "So much of the year is driven by national planning guidance, templates and deadlines that there is little room for local ideas.",
        "Every initiative needs a business case, a risk register and three committee sign-offs before anything happens.",
        "NHS England sends a directive and the managers understandably follow it, even when the GPs think it misses the point.",
    ),
    "Collaborative networks": (
        "For {area} we moved from separate contracts to an alliance in which the providers plan together and share the learning.",
        "{name} brought the providers into one network so that patients stop falling between the gaps.",
        "The emphasis now is collaboration between commissioners and providers rather than competition, and that suits most GPs.",
    ),
    "Conceptualising": (
        "The idea for the new model of {area} came out of a small group sketching on a whiteboard what good would look like for patients.",
        "{name} was the one who first described what the service could be, long before there was any money for it.",
        "Much of the early work was simply defining the new service and the roles it would need.",
    ),
    "Instigating": (
        "Getting it started meant finding a small pot of money and persuading two practices and {partner} to give it a go.",
        "{name} pushed the proposal through the programme board and secured the funding to get the first phase under way.",
        "The hardest step was the first one: getting people to agree to try something before all the answers were known.",
    ),
    "Trialling": (
        "We ran the scheme for {area} as a six-month pilot, measured what happened, and adjusted the protocol twice along the way.",
        "The trial showed fewer patients ending up in hospital, although the numbers were small.",
        "During the pilot {name} met the front-line staff every fortnight to iron out what was not working.",
    ),
    "Embedding": (
        "Once the pilot was over, the challenge was to make the new way of working routine across every locality.",
        "The new standard is now written into the practice contracts, so it no longer depends on the enthusiasm of a few people.",
        "Embedding it took far longer than designing it; habits in practices and in {partner} change slowly.",
    ),
    "System maintenance": (
        "There is a real worry about what happens to {partner} if we move activity out; nobody wants to be the one who tips them over.",
        "The existing providers defend their territory hard, and a lot of effort goes into keeping the current system standing.",
        "Some of the resistance is simply professional groups protecting their patch, and that slows redesign to a crawl.",
    ),
    "Lack of time": (
        "GPs are paid for a couple of sessions but the CCG work expands to fill the week, and their practices suffer.",
        "With demand in general practice where it is, few colleagues have any time left for commissioning.",
        "{name} said it plainly: the surgery comes first, and there is nothing left over for programme boards.",
    ),
    "Little incentive": (
        "There is little reason for a GP to get involved if the big decisions are taken elsewhere anyway.",
        "Why give up your evenings when the CCG cannot really change what the hospital does?",
        "The rewards for taking on a leadership role are small and the personal cost is high.",
    ),
    "Managers step in": (
        "When the GPs do not turn up, the managers carry on and make the decisions, because the deadlines do not move.",
        "{name} admitted that the management team has taken over much of what the clinical leads were meant to do.",
        "Over time the managers have filled the space, and the board papers now read like any other NHS body's.",
    ),
    "Centre steps in": (
        "When performance slips, NHS England steps in with its own plan, and local clinical leadership is pushed aside.",
        "The regulators judged the problems too urgent to wait for us, and their interventions took over the agenda.",
        "Once NHS Improvement got involved in the hospital's finances, our redesign plans were effectively on hold.",
    ),
    "GP suspicion": (
        "Each time the centre intervenes, it confirms what sceptical GPs always suspected: the CCG was never really theirs.",
        "{name} said colleagues now see the CCG as just another arm of NHS England, and that has hardened the disengagement.",
        "It becomes a circle: GPs hold back, others step in, and the GPs take that as proof they were right to hold back.",
    ),
}

AREA_SENTENCES: dict[str, tuple[str, ...]] = {
    "Frail older people and integrated care": (
        "Most of our effort has gone into integrated care for frail older people, with community teams wrapped around the practices.",
        "The work on frail elderly patients is about keeping people at home and out of hospital, with a named care co-ordinator for each.",
        "{name} leads the work on care homes and on older people living with several long-term conditions.",
    ),
    "Urgent care": (
        "Urgent care has been the other big focus: the emergency department is under huge pressure and we needed alternatives.",
        "We redesigned the out-of-hours service so that GPs and paramedics work together on calls that need not end in A&E.",
        "{name} brought the ambulance service, the out-of-hours provider and the hospital together on the urgent care pathway.",
    ),
    "Mental health": (
        "In mental health we wanted services that people could reach earlier, before they end up in crisis.",
        "The mental health work brought the NHS therapy providers and the voluntary sector into the same room for the first time.",
        "{name} championed a wellbeing hub for people with low-level mental health needs.",
    ),
    "Musculoskeletal": (
        "Musculoskeletal services were moved out of the hospital into a community service led by physiotherapists.",
        "The MSK pathway now starts with a physiotherapy assessment rather than an orthopaedic referral.",
    ),
    "Primary care reform": (
        "The primary care work set a common standard that every practice in the area was expected to meet.",
        "We have been developing general practice at scale, with practices working together to offer extended hours.",
    ),
    "Maternity": (
        "Maternity came up as well, mainly around continuity of midwife care for women in the most deprived wards.",
        "There is a smaller piece of work on maternity services and antenatal care closer to home.",
    ),
    "Diabetes": (
        "Diabetes care was redesigned so that more patients are managed by practice nurses with specialist support.",
        "We also looked at diabetes, where the variation between practices was striking.",
    ),
    "Cancer": (
        "On cancer, the focus was earlier diagnosis and faster access to tests from general practice.",
        "Cancer pathways came up mostly through the work on earlier referral for suspected cancer.",
    ),
}
AREA_PHRASES: dict[str, str] = {
    "Frail older people and integrated care": "integrated care for frail older people",
    "Urgent care": "urgent care",
    "Mental health": "adult mental health",
    "Musculoskeletal": "musculoskeletal services",
    "Primary care reform": "primary care standards",
    "Maternity": "maternity services",
    "Diabetes": "diabetes care",
    "Cancer": "cancer pathways",
}
MATURITY_SENTENCES: dict[str, tuple[str, ...]] = {
    "Emerging": (
        "As an organisation we are still finding our feet; the governance is in place but the clinical leadership is thin.",
        "Frankly we are an emerging CCG: the structures exist on paper, but few clinicians are active beyond the board.",
    ),
    "Developing": (
        "We are a developing CCG: a few clinical leads are making real progress, but it is not yet consistent across the board.",
        "Some parts of the CCG are working well and others are still forming; I would call us developing rather than mature.",
    ),
    "Established": (
        "The CCG is well established now; the clinical leadership is stable and the relationships with providers are mature.",
        "We have had the same clinical leaders since authorisation, and the organisation feels settled and confident.",
    ),
}

DOCUMENT: dict[str, tuple[str, ...]] = {
    "Governing body strategy": ("The governing body approved the strategy for {area} as one of three corporate priorities for the year.",),
    "Plans and directives": ("The plan responds to national planning guidance and must be submitted to NHS England by the stated deadline.",),
    "Competition and contracts": ("Options appraisal: the committee compared competitive tendering with a negotiated variation to the existing contract.",),
    "Conceptualising": ("Section 2 sets out the proposed model of care for {area} and the new roles it requires.",),
    "Instigating": ("The committee agreed non-recurrent funding to start the first phase of the scheme for {area}.",),
    "Trialling": ("The six-month pilot evaluation reports fewer attendances, with caveats about the small numbers involved.",),
    "Embedding": ("Recommendation: mainstream the pilot into recurrent contracts from April.",),
    "Sustainability and transformation plans": ("The chair noted that the STP footprint will lead on {area} from next year.",),
    "Mergers": ("Members discussed the proposal to share a single management team with the neighbouring CCG.",),
    "Recruiting GPs to boards": ("The GP member vacancy remains unfilled after a second round of advertising.",),
    "Collaborative networks": ("The alliance agreement commits all providers to shared outcomes for {area}.",),
    "Programme board work": ("Action: the programme board to finalise the referral protocol before the next meeting.",),
    "Federations and accountable care": ("The paper outlines joint work with the local authority towards an accountable care organisation.",),
}
OBSERVATION: dict[str, tuple[str, ...]] = {
    "Mediating perspectives": ("The clinical lead steered the discussion back to patient safety when the finance debate stalled.",),
    "Standing together": ("The chair and the accountable officer presented the proposal jointly and took questions in turn.",),
    "Managers step in": ("Two of the three GP members had sent apologies; the managers carried the discussion and the decisions.",),
    "Building networks": ("Before the meeting the GP lead spent twenty minutes talking informally with the voluntary sector representatives.",),
    "Non-positional leaders": ("A locality GP with no formal role spoke twice and visibly shifted the mood of the room.",),
    "Programme board work": ("Most of the meeting was spent working through the draft protocol clause by clause.",),
    "Top-down direction": ("The chair closed the item by announcing the decision rather than seeking agreement.",),
    "Plans and directives": ("Much of the agenda was taken up with national returns and assurance templates.",),
    "Disillusioned GPs": ("During the break two GP members talked about standing down at the end of their term.",),
    "Strategic gap": ("The strategic items were introduced and argued by managers; the clinical members mostly listened.",),
}

FILLERS: tuple[str, ...] = (
    "That's how I would put it, anyway.",
    "It has been a long road.",
    "I think that is fair.",
    "We are not there yet.",
    "Some of that is still being worked through.",
    "It varies from month to month.",
    "You would get a different answer from the hospital, of course.",
    "That was the theory, at least.",
    "I'm simplifying, but that is the gist.",
    "It is a mixed picture.",
)
QUESTIONS: tuple[str, ...] = (
    "Could you start by describing your role?",
    "What has changed in {area} over the last year?",
    "Who has been leading that work, in practice?",
    "What has helped, and what has got in the way?",
    "How do the GPs and the managers work together?",
    "How do you see the next couple of years?",
    "Is there anything else you would like to add?",
)
PARTNERS: tuple[str, ...] = (
    "the acute trust", "the community trust", "the mental health trust", "the county council",
    "the ambulance service", "the out-of-hours provider", "the foundation trust",
)
DOCUMENT_KINDS: tuple[tuple[str, str], ...] = (
    ("strategy paper", "Strategy paper: {area}, 2015/16 to 2019/20"),
    ("governing body minutes", "Minutes of the governing body meeting"),
    ("programme board minutes", "Minutes of the programme board for {area}"),
    ("progress report", "Progress report on the redesign of {area}"),
)
OBSERVATION_KINDS: tuple[str, ...] = (
    "Field notes: governing body meeting in public",
    "Field notes: programme board",
    "Field notes: locality GP meeting",
)


def fill(template: str, rnd: random.Random, *, area: str, names: list[str]) -> str:
    """Fill a template's slots: {area} phrase, a {name} from the case's cast, a {partner}."""
    return template.format(
        area=AREA_PHRASES.get(area, area), name=rnd.choice(names), partner=rnd.choice(PARTNERS)
    )
