"""The smallest internal app: a welcome e-mail when a member is activated (README: 20 lines)."""
import json, os, smtplib
from email.message import EmailMessage

from contracts.envelope import CloudEvent
from contracts.faststream import EventApp, Reject
from contracts.membership import MemberActivated

app = EventApp("welcome-mailer")  # the consumer group; the broker: KAFKA_BOOTSTRAP_SERVERS
book = json.load(open(os.environ.get("ADDRESS_BOOK", "examples/notifier/address_book.json")))

@app.subscriber(MemberActivated)
async def welcome(event: MemberActivated, envelope: CloudEvent) -> None:
    if (contact := book.get(event.organisation_id)) is None:  # dead letter: fix the book, replay it
        raise Reject(f"no address for {event.organisation_id}")
    mail = EmailMessage(); mail["From"], mail["To"] = "adhesions@cress.example", contact["email"]
    mail["Subject"] = f"Bienvenue, {contact['name']} !"; mail.set_content(f"Membre depuis le {event.since}.")
    with smtplib.SMTP("127.0.0.1", int(os.environ.get("SMTP_PORT", "8025"))) as smtp: smtp.send_message(mail)

application = app.application  # faststream run examples.notifier.minimal:application
