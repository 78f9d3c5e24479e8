/* Enrollment, initial sync, live push, save and restore, from C. */
#include "common.h"

static const char MAIL[] =
    "From: Treasurer <treasurer@town.example>\r\n"
    "To: mayor@town.example\r\n"
    "Subject: Budget for the harbour\r\n"
    "Message-ID: <1@town.example>\r\n"
    "Date: Sun, 29 Nov 2026 09:00:00 +0000\r\n"
    "\r\n"
    "The harbour budget is attached in spirit. Please read it.\r\n";

static void text_is(tidings_item *item, tidings_field field, const char *want) {
  tidings_bytes text = {NULL, 0};
  OK(tidings_item_text(item, field, &text));
  CHECK(text.len == strlen(want) && memcmp(text.data, want, text.len) == 0);
  tidings_bytes_free(&text);
}

int main(void) {
  tidings_test_town t;
  tidings_test_server *server = town(&t);
  uint64_t mail_id = 0, changed = 0, ids[8];
  size_t conn = 0, count = 0;
  OK(tidings_test_server_add_mail(server, t.mayor_inbox, LIT(MAIL), &mail_id));

  /* Enrollment and the initial sync: the mayor's folder and calendar. */
  tidings_client *mayor = enroll(server, t.mayor, 9, 1000, &conn);
  CHECK(tidings_client_device_id(mayor) != 0);
  /* The server says when every collection is synced: no silence timer. */
  CHECK(tidings_client_is_caught_up(mayor));
  CHECK(drain(mayor, TIDINGS_EVENT_ENROLLED, NULL) == 1);
  CHECK(tidings_client_collection_count(mayor) == 2);
  tidings_collection inbox;
  OK(tidings_client_collection_at(mayor, 0, &inbox));
  CHECK(inbox.id == t.mayor_inbox && inbox.kind == 1 && inbox.item_count == 1);
  OK(tidings_client_item_ids(mayor, t.mayor_inbox, ids, 8, &count));
  CHECK(count == 1 && ids[0] == mail_id);
  tidings_item *item = NULL;
  OK(tidings_client_item(mayor, t.mayor_inbox, mail_id, &item));
  CHECK(tidings_item_kind(item) == 1);
  text_is(item, TIDINGS_FIELD_SUBJECT, "Budget for the harbour");
  text_is(item, TIDINGS_FIELD_FROM, "treasurer@town.example");
  tidings_item_free(item);

  /* Live push: new mail reaches the connected device. */
  uint64_t second = 0;
  OK(tidings_test_server_add_mail(server, t.mayor_inbox, LIT(MAIL), &second));
  OK(tidings_test_server_push(server, 2000));
  pump(server, conn, mayor, 2000);
  CHECK(drain(mayor, TIDINGS_EVENT_CHANGED, &changed) == 1);
  CHECK(changed == t.mayor_inbox);
  OK(tidings_client_item_ids(mayor, t.mayor_inbox, ids, 8, &count));
  CHECK(count == 2);

  /* Save, restart, resume: no resync, the replica is intact. */
  tidings_bytes saved = {NULL, 0};
  OK(tidings_client_save(mayor, &saved));
  tidings_client_free(mayor);
  tidings_client_state *state = NULL;
  OK(tidings_client_state_restore(saved.data, saved.len, &state));
  tidings_bytes resaved = {NULL, 0};
  OK(tidings_client_state_save(state, &resaved));
  CHECK(resaved.len == saved.len && memcmp(resaved.data, saved.data, saved.len) == 0);
  tidings_bytes_free(&resaved);
  tidings_bytes_free(&saved);
  CHECK(tidings_client_state_is_enrolled(state));
  uint8_t random[32];
  fill(random, 32, 0x77);
  tidings_client *again = NULL;
  OK(tidings_client_resume(state, random, 32, 3000, &again));
  tidings_client_state_free(state);
  /* Nothing goes out until the advanced hello counter is stored. */
  tidings_bytes held = {NULL, 0};
  OK(tidings_client_poll_transmit(again, &held));
  CHECK(held.data == NULL && held.len == 0);
  tidings_bytes counter_saved = {NULL, 0};
  OK(tidings_client_save(again, &counter_saved));
  tidings_bytes_free(&counter_saved);
  OK(tidings_client_confirm_state_saved(again));
  fill(random, 32, 0x78);
  OK(tidings_test_server_accept(server, random, 32, 3000, &conn));
  pump(server, conn, again, 3000);
  CHECK(tidings_client_is_established(again));
  /* Unchanged collections are caught up at once after a resume. */
  CHECK(tidings_client_is_caught_up(again));
  CHECK(drain(again, TIDINGS_EVENT_CAUGHT_UP, NULL) == 2);
  OK(tidings_client_item_ids(again, t.mayor_inbox, ids, 8, &count));
  CHECK(count == 2);

  /* A clean close. */
  OK(tidings_client_close(again, 4000));
  pump(server, conn, again, 4000);
  uint64_t deadline = 0;
  OK(tidings_client_poll_timeout(again, &deadline));
  tidings_client_free(again);
  tidings_test_server_free(server);
  puts("sync: ok");
  return 0;
}
