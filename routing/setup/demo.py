"""A realistic demo organisation: Northwind Supply, with people, customers, jobs and calls.

Loading is idempotent: every row is found by its natural key (email, Twilio number,
job reference, CallSid) and only created when missing. Nothing an admin changed since
is overwritten, except that a demo user without any password gets the demo one.
Every number is in the 555-0100 to 555-0199 range reserved for fiction, so nobody real is
ever dialled, even with real Twilio credentials.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    BusinessHours,
    Call,
    CallResult,
    CallStatus,
    Customer,
    Enquiry,
    EnquiryKind,
    Holiday,
    Job,
    Line,
    OrgSettings,
    Outcome,
    Role,
    Salesperson,
    User,
)
from models.contact import normalise_phone
from models.organisation import current_settings
from notifications.jobs import JobSettings, create_job, update_job
from routing.security import hash_password

DEMO_PASSWORD = "switchboard-demo"
ORG_NAME = "Northwind Supply Co."
TELECONFERENCE_NUMBER = "+16465550199"

ADMIN = ("Morgan Admin", "admin@northwind.example", "+14155550100")
SALESPEOPLE = [
    # name, email, old mobile (diverted), Twilio number
    ("Alice Smith", "alice.smith@northwind.example", "+13125550101", "+16465550101"),
    ("Rahul Mehta", "rahul.mehta@northwind.example", "+13125550102", "+16465550102"),
    ("Sofia Garcia", "sofia.garcia@northwind.example", "+13125550103", "+16465550103"),
    ("Tom Becker", "tom.becker@northwind.example", "+13125550104", "+16465550104"),
]
COORDINATORS = [
    ("Cora Jensen", "cora@northwind.example", "+14155550121"),
    ("Dev Patel", "dev@northwind.example", "+14155550122"),
    ("Lena Okafor", "lena@northwind.example", "+14155550123"),
]
ACCOUNT_MANAGERS = [
    ("Bob Nakamura", "bob@northwind.example", "+14155550131", 12),
    ("Priya Shah", "priya@northwind.example", "+14155550132", 10),
    ("Maria Rossi", "maria@northwind.example", "+14155550133", 8),
]
FIRST_NAMES = [
    "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Chloe",
    "Mason", "Grace", "Logan", "Zoe", "Caleb", "Nora", "Owen", "Leah", "Isaac", "Ruby",
]  # fmt: skip
LAST_NAMES = [
    "Anderson", "Brooks", "Carter", "Diaz", "Evans", "Foster", "Gray", "Hughes", "Irwin",
    "Jordan", "Kim", "Lopez", "Morgan", "Nguyen", "Ortiz", "Price", "Quinn", "Reed",
]  # fmt: skip
COMPANIES = [
    "Acme Ltd", "Bluebird Logistics", "Cedar Dental", "Delta Print Works", "Evergreen Farms",
    "Foxglove Interiors", "Granite Builders", "Harbor Cafe", "Ironwood Fitness",
    "Juniper Florists", "Keystone Auto", "Lakeside Clinic", "Maple Street Bakery",
    "Northgate Hotel", "Orchard Pharmacy", "Pioneer Plumbing", None, None,
]  # fmt: skip
JOB_ITEMS = [
    "2 pallets of printer paper (A4, 80 g)",
    "Office chairs x12, assembled on site",
    "Replacement toner cartridges, quarterly order",
    "Reception desk and signage",
    "Break-room coffee machine with install",
    "Standing desks x6",
    "Filing cabinets x4 and shelving",
    "Network printer lease, model MX-510",
]
CUSTOMER_COUNT = 60
CUSTOMER_AREAS = ("202", "718", "617", "503", "213")


@dataclass
class DemoResult:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    sample_caller: str = ""
    sample_twilio_number: str = ""

    def count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1

    def summary(self) -> str:
        if not any(self.created.values()):
            return f"Demo organisation {ORG_NAME} is already loaded; nothing changed."
        parts = ", ".join(f"{n} {what}" for what, n in self.created.items() if n)
        return f"Demo organisation {ORG_NAME} loaded: {parts} created."


def demo_customers() -> list[tuple[str, str, str, str | None, int]]:
    """(name, email, phone, company, salesperson index): the same list on every run."""
    rng = random.Random(4711)
    people: list[tuple[str, str, str, str | None, int]] = []
    seen: set[str] = set()
    n = 0
    while len(people) < CUSTOMER_COUNT:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        if name in seen:
            continue
        seen.add(name)
        company = COMPANIES[n % len(COMPANIES)]
        domain = (company or f"{last}-family").lower().replace(" ", "")
        domain = "".join(ch for ch in domain if ch.isalnum() or ch == "-") + ".example"
        phone = f"+1{CUSTOMER_AREAS[n % len(CUSTOMER_AREAS)]}555{100 + n:04d}"
        people.append((name, f"{first}.{last}@{domain}".lower(), phone, company, n % 4))
        n += 1
    return people


def load_demo(
    session: Session,
    *,
    timezone: str = "UTC",
    region: str = "US",
    job_settings: JobSettings | None = None,
    now: datetime,
) -> DemoResult:
    """Create whatever of the demo organisation is missing. The caller commits.

    ``job_settings`` should come from the running configuration (``JobSettings.from_config``)
    so the links in the demo jobs' emails are signed with the app's secret.
    """
    result = DemoResult()
    job_settings = job_settings or JobSettings(timezone=timezone, default_region=region)
    zone = ZoneInfo(timezone)
    _settings(session, timezone, result)
    _hours(session, result, now)
    users = _users(session, result)
    salespeople = _salespeople(session, result)
    customers = _customers(session, salespeople, result)
    session.flush()
    _jobs(session, customers, users, zone, result, job_settings, now)
    _calls(session, customers, salespeople, users, result, now)
    session.flush()
    result.logins = [
        ("admin", ADMIN[1]),
        ("coordinator", COORDINATORS[0][1]),
        ("account manager", ACCOUNT_MANAGERS[0][1]),
        ("salesperson", SALESPEOPLE[0][1]),
    ]
    result.sample_caller = normalise_phone(demo_customers()[0][2], region)
    result.sample_twilio_number = SALESPEOPLE[0][3]
    return result


def _settings(session: Session, timezone: str, result: DemoResult) -> None:
    settings = current_settings(session)
    if settings is None:
        settings = OrgSettings()
        session.add(settings)
    # A row created only to carry the cache token (or a fresh install) still has defaults.
    if settings.timezone is None:
        settings.name = ORG_NAME
        settings.timezone = timezone
        settings.enquiry_sla_minutes = 15
        settings.ring_timeout_seconds = 20
        settings.supervisor_email = ADMIN[1]
        settings.teleconference_number = TELECONFERENCE_NUMBER
        result.count("organisation settings")


def _hours(session: Session, result: DemoResult, now: datetime) -> None:
    have = set(session.scalars(select(BusinessHours.weekday)))
    if not have:
        for weekday in range(5):
            session.add(BusinessHours(weekday=weekday, opens_at=time(8), closes_at=time(18)))
            result.count("business days")
    year = now.year
    holidays = {date(year, 12, 25): "Christmas Day", date(year + 1, 1, 1): "New Year's Day"}
    known = set(session.scalars(select(Holiday.day).where(Holiday.day.in_(holidays))))
    for day, name in holidays.items():
        if day not in known:
            session.add(Holiday(day=day, name=name))
            result.count("holidays")


def _users(session: Session, result: DemoResult) -> dict[str, User]:
    wanted = [(ADMIN[0], ADMIN[1], ADMIN[2], Role.ADMIN, 0)]
    wanted += [(n, e, p, Role.COORDINATOR, 0) for n, e, p in COORDINATORS]
    wanted += [(n, e, p, Role.ACCOUNT_MANAGER, c) for n, e, p, c in ACCOUNT_MANAGERS]
    existing = {
        u.email: u
        for u in session.scalars(select(User).where(User.email.in_([w[1] for w in wanted])))
    }
    password_hash = None
    for name, email, phone, role, capacity in wanted:
        user = existing.get(email)
        if user is None:
            user = User(
                email=email, name=name, phone=phone, role=role, capacity=capacity, available=True
            )
            session.add(user)
            existing[email] = user
            result.count("users")
        if user.password_hash is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user.password_hash = password_hash
    return existing


def _salespeople(session: Session, result: DemoResult) -> list[Salesperson]:
    people = []
    for name, email, mobile, twilio in SALESPEOPLE:
        person = session.scalar(select(Salesperson).where(Salesperson.email == email))
        if person is None:
            person = Salesperson(name=name, email=email)
            session.add(person)
            result.count("salespeople")
        line = session.scalar(select(Line).where(Line.twilio_number == twilio))
        if (
            line is None
            and session.scalar(select(Line).where(Line.public_number == mobile)) is None
        ):
            person.lines.append(Line(public_number=mobile, twilio_number=twilio))
            result.count("lines")
        people.append(person)
    _salesperson_login(session, people[0], result)
    return people


def _salesperson_login(session: Session, person: Salesperson, result: DemoResult) -> None:
    """The first salesperson logs in to keep her own availability (never duplicated)."""
    if person.user_id is not None:
        return
    session.flush()
    login = session.scalar(select(User).where(User.email == person.email))
    if login is None:
        login = User(
            email=person.email,
            name=person.name,
            role=Role.SALESPERSON,
            available=False,
            password_hash=hash_password(DEMO_PASSWORD),
        )
        session.add(login)
        session.flush()
        result.count("users")
    if login.role is Role.SALESPERSON:
        person.user_id = login.id


def _customers(
    session: Session, salespeople: list[Salesperson], result: DemoResult
) -> list[Customer]:
    rows = demo_customers()
    session.flush()
    existing = {
        c.email: c
        for c in session.scalars(select(Customer).where(Customer.email.in_([r[1] for r in rows])))
    }
    customers = []
    for name, email, phone, company, owner in rows:
        customer = existing.get(email)
        if customer is None:
            customer = Customer(
                name=name,
                email=email,
                phone=phone,
                company=company,
                salesperson_id=salespeople[owner].id,
            )
            session.add(customer)
            result.count("customers")
        customers.append(customer)
    return customers


def _jobs(
    session: Session,
    customers: list[Customer],
    users: dict[str, User],
    zone: ZoneInfo,
    result: DemoResult,
    job_settings: JobSettings,
    now: datetime,
) -> None:
    """Jobs made through the job service, so their emails are in the outbox as in real use."""
    managers = [users[am[1]] for am in ACCOUNT_MANAGERS]
    references = [f"NW-{4711 + i}" for i in range(len(JOB_ITEMS))]
    known = set(session.scalars(select(Job.reference).where(Job.reference.in_(references))))
    today = now.astimezone(zone).date()
    for i, (reference, description) in enumerate(zip(references, JOB_ITEMS, strict=True)):
        if reference in known:
            continue
        customer = customers[i * 3]
        if i % 2 == 0:
            eta = (today + timedelta(days=2 + i)).isoformat()
        else:
            local = datetime.combine(today + timedelta(days=1 + i), time(10 + i % 6))
            eta = local.isoformat(timespec="minutes")  # local time of the organisation
        job = create_job(
            session,
            reference=reference,
            customer={"name": customer.name, "email": customer.email},
            description=description,
            eta=eta,
            account_manager_email=managers[i % len(managers)].email,
            actor="demo",
            settings=job_settings,
            now=now,
        )
        if i % 3 == 1:
            update_job(
                session, job, status="in_progress", actor="demo", settings=job_settings, now=now
            )
        if i == 1:
            # One job whose ETA already moved, so the history is not empty.
            later = datetime.combine(today + timedelta(days=4 + i), time(14))
            update_job(
                session,
                job,
                eta=later.isoformat(timespec="minutes"),
                eta_reason="Supplier shipment delayed two days",
                actor=managers[1].email,
                settings=job_settings,
                now=now,
            )
        result.count("jobs")


def _calls(
    session: Session,
    customers: list[Customer],
    salespeople: list[Salesperson],
    users: dict[str, User],
    result: DemoResult,
    now: datetime,
) -> None:
    coordinators = [users[c[1]] for c in COORDINATORS]
    now = now.replace(microsecond=0)
    session.flush()
    plans = [
        # (sid suffix, customer index, minutes ago, answered, outcome)
        ("0001", 0, 60 * 26, True, Outcome.APPOINTMENT),
        ("0002", 4, 60 * 24, True, Outcome.ACCOUNT_MANAGEMENT),
        ("0003", 7, 60 * 5, True, Outcome.GENERAL_ENQUIRY),
        ("0004", 10, 90, True, Outcome.ACCOUNT_MANAGEMENT),
        ("0005", 13, 25, False, None),
    ]
    sids = [f"CAdemo{'0' * 24}{suffix}" for suffix, *_ in plans]
    known = set(session.scalars(select(Call.call_sid).where(Call.call_sid.in_(sids))))
    for sid, (_, index, minutes_ago, answered, outcome) in zip(sids, plans, strict=True):
        if sid in known:
            continue
        customer = customers[index]
        person = next(p for p in salespeople if p.id == customer.salesperson_id)
        line = person.lines[0] if person.lines else None
        started = now - timedelta(minutes=minutes_ago)
        call = Call(
            call_sid=sid,
            line_id=line.id if line else None,
            to_number=line.twilio_number if line else SALESPEOPLE[0][3],
            from_number=customer.phone or "anonymous",
            forwarded_from=line.public_number if line else None,
            caller_number=customer.phone,
            customer_id=customer.id,
            started_at=started,
            within_hours=True,
        )
        if answered:
            _answered(call, coordinators[index % len(coordinators)], outcome, extra=index * 20)
        else:
            _voicemail(call)
        session.add(call)
        session.flush()
        if not answered:
            session.add(_voicemail_enquiry(call, customer, now))
            result.count("missed enquiries")
        result.count("calls")


def _answered(call: Call, coordinator: User, outcome: Outcome | None, extra: int) -> None:
    """A call a coordinator answered, talked through and disposed a minute later."""
    started = call.started_at
    call.status = CallStatus.COMPLETED.value
    call.result = CallResult.ANSWERED.value
    call.dial_status = "completed"
    call.answered_at = started + timedelta(seconds=9)
    call.answered_by_id = coordinator.id
    call.ring_seconds = 9
    call.talk_seconds = 180 + extra
    call.duration_seconds = call.ring_seconds + call.talk_seconds
    call.ended_at = call.answered_at + timedelta(seconds=call.talk_seconds)
    call.outcome = outcome
    call.disposed_at = call.ended_at + timedelta(minutes=1)
    call.disposed_by_id = coordinator.id
    call.disposition_notes = "Demo call"


def _voicemail(call: Call) -> None:
    """A call nobody picked up: the caller left a message."""
    call.status = CallStatus.COMPLETED.value
    call.result = CallResult.VOICEMAIL.value
    call.dial_status = "no-answer"
    call.ring_seconds = 20
    call.duration_seconds = 55
    call.ended_at = call.started_at + timedelta(seconds=55)


def _voicemail_enquiry(call: Call, customer: Customer, now: datetime) -> Enquiry:
    return Enquiry(
        call_id=call.id,
        customer_id=customer.id,
        line_id=call.line_id,
        caller_number=customer.phone,
        kind=EnquiryKind.VOICEMAIL,
        sla_deadline=now + timedelta(minutes=10),
        transcript=(
            "Hi, this is about our order, could someone call me back about "
            "the delivery date? Thanks."
        ),
        recording_seconds=14,
        created_at=call.ended_at,
    )
