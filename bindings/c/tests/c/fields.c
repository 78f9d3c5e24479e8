/* What a handset shows and sends, from C without protobuf: a mail's date,
 * sender and recipients, an event's times, organizer and attendees, a
 * collection's owner, the named constants; size queries with a NULL buffer;
 * out-of-range field and list numbers refused; sending, replying and
 * forwarding composed on a tidings_outgoing. */
#include "common.h"

static const char MAIL[] =
    "From: Treasurer <treasurer@town.example>\r\n"
    "To: Mayor <mayor@town.example>, chief@town.example\r\n"
    "Cc: Clerk <clerk@town.example>\r\n"
    "Subject: Budget for the harbour\r\n"
    "Message-ID: <budget@town.example>\r\n"
    "Date: Sun, 29 Nov 2026 10:30:00 +0100\r\n"
    "\r\n"
    "The harbour budget is attached in spirit. Please read it.\r\n";

static int bytes_are(tidings_bytes b, const char *want) {
  return b.len == strlen(want) && (b.len == 0 || memcmp(b.data, want, b.len) == 0);
}

static int contains(tidings_bytes b, const char *want) {
  size_t n = strlen(want);
  for (size_t i = 0; i + n <= b.len; i++)
    if (memcmp(b.data + i, want, n) == 0) return 1;
  return 0;
}

static void text_is(tidings_item *item, tidings_field field, const char *want) {
  tidings_bytes text = {NULL, 0};
  OK(tidings_item_text(item, field, &text));
  CHECK(bytes_are(text, want));
  tidings_bytes_free(&text);
}

static void address_is(tidings_item *item, tidings_addresses list, size_t index,
                       const char *name, const char *email) {
  tidings_bytes n = {NULL, 0}, e = {NULL, 0};
  OK(tidings_item_address(item, list, index, &n, &e));
  CHECK(bytes_are(n, name) && bytes_are(e, email));
  tidings_bytes_free(&n);
  tidings_bytes_free(&e);
}

/* Runs until operation `op` is answered; returns its outcome. */
static tidings_outcome outcome_of(tidings_test_server *server, size_t conn,
                                  tidings_client *client, uint64_t now,
                                  const uint8_t op[16]) {
  tidings_event *event = answer(server, conn, client, now, op);
  tidings_outcome outcome = tidings_event_outcome(event);
  tidings_event_free(event);
  return outcome;
}

int main(void) {
  tidings_test_town t;
  tidings_test_server *server = town(&t);
  uint64_t mail = 0, meeting = 0;
  OK(tidings_test_server_add_mail(server, t.chief_inbox, LIT(MAIL), &mail));
  OK(tidings_test_server_add_meeting(server, t.mayor_calendar,
                                     LIT("Harbour board"),
                                     LIT("mayor@town.example"), &meeting));
  size_t conn = 0;
  tidings_client *chief = enroll(server, t.chief, 5, 1000, &conn);

  /* The count alone, with a NULL buffer; a NULL buffer with a length is
   * still refused. */
  size_t count = 0;
  OK(tidings_client_item_ids(chief, t.chief_inbox, NULL, 0, &count));
  CHECK(count == 1);
  CHECK(tidings_client_item_ids(chief, t.chief_inbox, NULL, 4, &count) ==
        TIDINGS_NULL_ARGUMENT);

  /* The collection's owner: the mayor's calendar, held by delegation. */
  tidings_bytes owner = {NULL, 0};
  OK(tidings_client_collection_owner_name(chief, t.mayor_calendar, &owner));
  CHECK(bytes_are(owner, "Mayor"));
  tidings_bytes_free(&owner);
  tidings_collection c;
  for (size_t i = 0; i < tidings_client_collection_count(chief); i++) {
    OK(tidings_client_collection_at(chief, i, &c));
    if (c.id == t.mayor_calendar) {
      CHECK(c.kind == TIDINGS_COLLECTION_KIND_CALENDAR);
      CHECK(c.rights & TIDINGS_RIGHT_RESPOND);
    }
    if (c.id == t.chief_inbox) CHECK(c.kind == TIDINGS_COLLECTION_KIND_MAIL);
  }

  /* A mail: date, sender, recipients. */
  tidings_item *item = NULL;
  OK(tidings_client_item(chief, t.chief_inbox, mail, &item));
  CHECK(tidings_item_kind(item) == TIDINGS_COLLECTION_KIND_MAIL);
  int64_t date = 0;
  int32_t offset = 0;
  OK(tidings_item_date(item, &date, &offset));
  CHECK(date == 1795944600); /* 2026-11-29 09:30:00 UTC */
  CHECK(offset == 60);
  text_is(item, TIDINGS_FIELD_MESSAGE_ID, "budget@town.example");
  CHECK(tidings_item_address_count(item, TIDINGS_ADDRESSES_FROM) == 1);
  address_is(item, TIDINGS_ADDRESSES_FROM, 0, "Treasurer", "treasurer@town.example");
  CHECK(tidings_item_address_count(item, TIDINGS_ADDRESSES_TO) == 2);
  address_is(item, TIDINGS_ADDRESSES_TO, 0, "Mayor", "mayor@town.example");
  address_is(item, TIDINGS_ADDRESSES_TO, 1, "", "chief@town.example");
  CHECK(tidings_item_address_count(item, TIDINGS_ADDRESSES_CC) == 1);
  address_is(item, TIDINGS_ADDRESSES_CC, 0, "Clerk", "clerk@town.example");
  CHECK(tidings_item_address_count(item, TIDINGS_ADDRESSES_ATTENDEES) == 0);
  CHECK(!tidings_item_all_day(item));
  CHECK((tidings_item_flags(item) & TIDINGS_MAIL_FLAG_SEEN) == 0);

  /* Numbers from C that name nothing are refused, not undefined. */
  tidings_bytes text = {NULL, 0}, other = {NULL, 0};
  CHECK(tidings_item_text(item, 0, &text) == TIDINGS_INVALID_ARGUMENT);
  CHECK(tidings_item_text(item, 0xFFFFFFFFu, &text) == TIDINGS_INVALID_ARGUMENT);
  CHECK(tidings_item_text(item, TIDINGS_FIELD_NAME, &text) == TIDINGS_INVALID_ARGUMENT);
  CHECK(text.data == NULL);
  CHECK(tidings_item_address_count(item, 99) == 0);
  CHECK(tidings_item_address(item, 99, 0, &text, &other) == TIDINGS_INVALID_ARGUMENT);
  CHECK(tidings_item_address(item, TIDINGS_ADDRESSES_TO, 2, &text, &other) ==
        TIDINGS_INVALID_ARGUMENT);
  tidings_item_free(item);

  /* An event: times, organizer, attendees and their answers. */
  OK(tidings_client_item(chief, t.mayor_calendar, meeting, &item));
  CHECK(tidings_item_kind(item) == TIDINGS_COLLECTION_KIND_CALENDAR);
  CHECK(tidings_item_date(item, &date, &offset) == TIDINGS_INVALID_ARGUMENT);
  text_is(item, TIDINGS_FIELD_SUMMARY, "Harbour board");
  text_is(item, TIDINGS_FIELD_START, "20261203T090000");
  text_is(item, TIDINGS_FIELD_START_TZID, "Europe/London");
  CHECK(!tidings_item_all_day(item));
  text_is(item, TIDINGS_FIELD_END, "20261203T100000");
  text_is(item, TIDINGS_FIELD_END_TZID, "Europe/London");
  CHECK(tidings_item_address_count(item, TIDINGS_ADDRESSES_ORGANIZER) == 1);
  address_is(item, TIDINGS_ADDRESSES_ORGANIZER, 0, "Town Clerk", "clerk@town.example");
  CHECK(tidings_item_address_count(item, TIDINGS_ADDRESSES_ATTENDEES) == 1);
  CHECK(tidings_item_address_count(item, TIDINGS_ADDRESSES_FROM) == 0);
  address_is(item, TIDINGS_ADDRESSES_ATTENDEES, 0, "", "mayor@town.example");
  int32_t status = 0;
  OK(tidings_item_attendee_status_at(item, 0, &status));
  CHECK(status == TIDINGS_PARTICIPATION_STATUS_NEEDS_ACTION);
  CHECK(tidings_item_attendee_status_at(item, 99, &status) == TIDINGS_INVALID_ARGUMENT);
  tidings_item_free(item);

  /* Send, reply and forward without protobuf. */
  uint8_t op[16];
  tidings_outgoing *out = NULL;
  OK(tidings_outgoing_new(&out));
  fill(op, 16, 0x31);
  CHECK(tidings_client_send(chief, 2000, op, 16, out) == TIDINGS_INVALID_ARGUMENT);
  OK(tidings_outgoing_add_recipient(out, TIDINGS_ADDRESSES_TO, LIT("Mayor"),
                                    LIT("mayor@town.example")));
  OK(tidings_outgoing_add_recipient(out, TIDINGS_ADDRESSES_CC, LIT(""),
                                    LIT("clerk@town.example")));
  CHECK(tidings_outgoing_add_recipient(out, TIDINGS_ADDRESSES_TO, LIT("Nobody"),
                                       LIT("")) == TIDINGS_INVALID_ARGUMENT);
  CHECK(tidings_outgoing_add_recipient(out, TIDINGS_ADDRESSES_ORGANIZER, LIT(""),
                                       LIT("x@town.example")) == TIDINGS_INVALID_ARGUMENT);
  OK(tidings_outgoing_set_subject(out, LIT("Harbour gates")));
  OK(tidings_outgoing_set_text(out, LIT("Please close them at six.")));
  OK(tidings_outgoing_add_attachment(out, LIT("gates.txt"), LIT("text/plain"),
                                     LIT("gate 1, gate 2")));
  OK(tidings_client_send(chief, 2000, op, 16, out));
  CHECK(outcome_of(server, conn, chief, 2000, op) == TIDINGS_OUTCOME_DONE);

  fill(op, 16, 0x32);
  tidings_outgoing *reply = NULL;
  OK(tidings_outgoing_new(&reply));
  OK(tidings_outgoing_set_text(reply, LIT("Agreed.")));
  OK(tidings_client_reply(chief, 3000, op, 16, t.chief_inbox, mail, true, reply));
  CHECK(outcome_of(server, conn, chief, 3000, op) == TIDINGS_OUTCOME_DONE);
  tidings_outgoing_free(reply);

  fill(op, 16, 0x33);
  OK(tidings_client_forward(chief, 4000, op, 16, t.chief_inbox, mail, out));
  CHECK(outcome_of(server, conn, chief, 4000, op) == TIDINGS_OUTCOME_DONE);
  tidings_outgoing_free(out);
  tidings_outgoing_free(NULL);

  /* The server received exactly what was composed. */
  CHECK(tidings_test_server_sent_count(server) == 3);
  tidings_bytes sent = {NULL, 0};
  uint32_t relation = 9;
  uint64_t original = 9;
  OK(tidings_test_server_sent(server, 0, &sent, &relation, &original));
  CHECK(relation == 0 && original == 0);
  CHECK(contains(sent, "mayor@town.example") && contains(sent, "clerk@town.example"));
  CHECK(contains(sent, "Harbour gates") && contains(sent, "gate 1, gate 2"));
  tidings_bytes_free(&sent);
  OK(tidings_test_server_sent(server, 1, &sent, &relation, &original));
  CHECK(relation == 1 && original == mail && contains(sent, "Agreed."));
  tidings_bytes_free(&sent);
  OK(tidings_test_server_sent(server, 2, &sent, &relation, &original));
  CHECK(relation == 2 && original == mail && contains(sent, "Harbour gates"));
  tidings_bytes_free(&sent);

  tidings_client_free(chief);
  tidings_test_server_free(server);
  puts("fields: ok");
  return 0;
}
