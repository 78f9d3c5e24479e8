/* An item too large for one page: it arrives abridged, an edit of it is
 * refused, and once fetched whole and completed it is all there, survives
 * a save, and its edit goes through. */
#include "common.h"

/* Larger than one page once packed, yet small enough, unpacked, for the
 * edited item to travel back in one operation. */
enum { DESCRIPTION_LEN = 62000 };

/* Printable characters from a linear congruential generator: text deflate
 * barely shrinks, the same on every run. */
static char *incompressible_text(size_t len) {
  char *text = malloc(len + 1);
  CHECK(text != NULL);
  uint32_t x = 12345;
  for (size_t i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    text[i] = (char)('!' + (x >> 16) % 94);
  }
  text[len] = '\0';
  return text;
}

/* Fetches the item's whole packed form in ranges of `chunk` bytes. */
static uint8_t *fetch_whole(tidings_test_server *server, size_t conn,
                            tidings_client *client, uint64_t calendar,
                            uint64_t id, uint64_t expected, size_t *len) {
  uint8_t *whole = malloc(expected);
  CHECK(whole != NULL);
  uint64_t held = 0, total = expected;
  for (uint8_t round = 1; held < total; round++) {
    uint8_t op[16];
    fill(op, 16, (uint8_t)(0x80 + round));
    OK(tidings_client_fetch_item(client, 3000 + round, op, 16, calendar, id,
                                 held, 16 * 1024));
    tidings_event *event = answer(server, conn, client, 3000 + round, op);
    CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_RANGE);
    uint64_t offset = 0;
    tidings_bytes data = {NULL, 0};
    OK(tidings_event_range(event, &offset, &total, &data));
    CHECK(offset == held && total == expected && data.len > 0);
    CHECK(held + data.len <= expected);
    memcpy(whole + held, data.data, data.len);
    held += data.len;
    tidings_bytes_free(&data);
    tidings_event_free(event);
  }
  *len = (size_t)held;
  return whole;
}

int main(void) {
  tidings_test_town t;
  tidings_test_server *server = town(&t);
  char *description = incompressible_text(DESCRIPTION_LEN);
  uint64_t id = 0;
  OK(tidings_test_server_add_described_meeting(
      server, t.mayor_calendar, LIT("Budget hearing"), LIT(description), &id));
  size_t conn = 0;
  tidings_client *chief = enroll(server, t.chief, 7, 1000, &conn);
  drain(chief, TIDINGS_EVENT_CHANGED, NULL);

  /* Abridged: marked so, its description cut, its whole size known. */
  tidings_item *item = NULL;
  tidings_bytes text = {NULL, 0};
  uint64_t packed_size = 0;
  OK(tidings_client_item(chief, t.mayor_calendar, id, &item));
  CHECK(tidings_item_abridged(item, &packed_size) ==
        TIDINGS_ABRIDGED_TOO_LARGE);
  CHECK(packed_size > 48 * 1024);
  OK(tidings_item_text(item, TIDINGS_FIELD_DESCRIPTION, &text));
  CHECK(text.len < DESCRIPTION_LEN);
  tidings_bytes_free(&text);
  CHECK(tidings_item_abridged(NULL, NULL) == TIDINGS_ABRIDGED_NONE);

  /* An edit of the abridged copy is refused: it would lose what was cut. */
  tidings_bytes encoded = {NULL, 0};
  OK(tidings_item_encoded(item, &encoded));
  uint64_t version = tidings_item_version(item);
  tidings_item_free(item);
  uint8_t op[16];
  fill(op, 16, 1);
  OK(tidings_client_update_event(chief, 2000, op, 16, t.mayor_calendar,
                                 encoded.data, encoded.len, version));
  tidings_event *event = answer(server, conn, chief, 2000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_ERROR);
  CHECK(tidings_event_error(event) == 515);
  tidings_event_free(event);

  /* Bytes that are not the item are refused; the abridged copy stays. */
  const uint8_t junk[3] = {1, 2, 3};
  CHECK(tidings_client_complete_item(chief, t.mayor_calendar, id, junk, 3) !=
        TIDINGS_OK);
  CHECK(tidings_client_complete_item(chief, t.mayor_calendar, id + 99, junk,
                                     0) == 502);
  CHECK(tidings_client_complete_item(chief, t.mayor_calendar, id, NULL, 0) ==
        TIDINGS_NULL_ARGUMENT);
  OK(tidings_client_item(chief, t.mayor_calendar, id, &item));
  CHECK(tidings_item_abridged(item, NULL) == TIDINGS_ABRIDGED_TOO_LARGE);
  tidings_item_free(item);

  /* Fetched in ranges and completed: whole, and kept by a save. */
  size_t whole_len = 0;
  uint8_t *whole = fetch_whole(server, conn, chief, t.mayor_calendar, id,
                               packed_size, &whole_len);
  OK(tidings_client_complete_item(chief, t.mayor_calendar, id, whole,
                                  whole_len));
  free(whole);
  OK(tidings_client_item(chief, t.mayor_calendar, id, &item));
  CHECK(tidings_item_abridged(item, &packed_size) == TIDINGS_ABRIDGED_NONE);
  CHECK(packed_size == 0);
  OK(tidings_item_text(item, TIDINGS_FIELD_DESCRIPTION, &text));
  CHECK(text.len == DESCRIPTION_LEN &&
        memcmp(text.data, description, DESCRIPTION_LEN) == 0);
  tidings_bytes_free(&text);
  tidings_bytes saved = {NULL, 0};
  tidings_client_state *restored = NULL;
  OK(tidings_client_save(chief, &saved));
  OK(tidings_client_state_restore(saved.data, saved.len, &restored));
  tidings_bytes_free(&saved);
  uint8_t random[32];
  fill(random, 32, 0x42);
  tidings_client *resumed = NULL;
  OK(tidings_client_resume(restored, random, 32, 2500, &resumed));
  tidings_client_state_free(restored);
  tidings_item *kept = NULL;
  OK(tidings_client_item(resumed, t.mayor_calendar, id, &kept));
  CHECK(tidings_item_abridged(kept, NULL) == TIDINGS_ABRIDGED_NONE);
  tidings_item_free(kept);
  tidings_client_free(resumed);

  /* The whole item's edit goes through. */
  tidings_bytes_free(&encoded);
  OK(tidings_item_encoded(item, &encoded));
  version = tidings_item_version(item);
  tidings_item_free(item);
  fill(op, 16, 2);
  OK(tidings_client_update_event(chief, 4000, op, 16, t.mayor_calendar,
                                 encoded.data, encoded.len, version));
  event = answer(server, conn, chief, 4000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  tidings_event_free(event);
  tidings_bytes_free(&encoded);

  free(description);
  tidings_client_free(chief);
  tidings_test_server_free(server);
  puts("abridged: ok");
  return 0;
}
