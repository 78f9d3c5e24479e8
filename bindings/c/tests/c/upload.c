/* A file larger than one operation: uploaded in parts, attached by a mail,
 * and handed to the server's transport byte for byte; a part out of place
 * is told where to go on from. */
#include "common.h"

enum { FILE_LEN = 150 * 1024 + 5, PART = 48 * 1024 };

/* Whether `needle` appears in `hay`. */
static int holds(const uint8_t *hay, size_t hay_len, const uint8_t *needle,
                 size_t needle_len) {
  for (size_t i = 0; i + needle_len <= hay_len; i++) {
    if (memcmp(hay + i, needle, needle_len) == 0) return 1;
  }
  return 0;
}

int main(void) {
  tidings_test_town t;
  tidings_test_server *server = town(&t);
  size_t conn = 0;
  tidings_client *chief = enroll(server, t.chief, 7, 1000, &conn);
  drain(chief, TIDINGS_EVENT_CHANGED, NULL);

  uint8_t *file = malloc(FILE_LEN);
  CHECK(file != NULL);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < FILE_LEN; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    file[i] = (uint8_t)x;
  }
  uint8_t upload[16], op[16];
  fill(upload, 16, 0xA7);

  /* A part past what the server holds: told to start from 0. */
  fill(op, 16, 1);
  OK(tidings_client_upload_part(chief, 2000, op, 16, upload, 16, PART,
                                file + PART, PART, FILE_LEN));
  tidings_event *event = answer(server, conn, chief, 2000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_CONFLICT);
  CHECK(tidings_event_version(event) == 0);
  tidings_event_free(event);

  /* In order: each answer says how much the server holds. */
  uint8_t n = 2;
  for (size_t offset = 0; offset < FILE_LEN; offset += PART, n++) {
    size_t len = FILE_LEN - offset < PART ? FILE_LEN - offset : PART;
    fill(op, 16, n);
    OK(tidings_client_upload_part(chief, 3000, op, 16, upload, 16, offset,
                                  file + offset, len, FILE_LEN));
    event = answer(server, conn, chief, 3000, op);
    CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
    CHECK(tidings_event_version(event) == offset + len);
    tidings_event_free(event);
  }

  /* Attached by upload id, it reaches the transport whole. */
  tidings_outgoing *mail = NULL;
  OK(tidings_outgoing_new(&mail));
  OK(tidings_outgoing_add_recipient(mail, TIDINGS_ADDRESSES_TO, LIT(""),
                                    LIT("clerk@town.example")));
  OK(tidings_outgoing_set_subject(mail, LIT("Harbour survey")));
  OK(tidings_outgoing_add_uploaded_attachment(
      mail, LIT("survey.pdf"), LIT("application/pdf"), upload, 16));
  CHECK(tidings_outgoing_add_uploaded_attachment(
            mail, LIT("x"), LIT("application/pdf"), upload, 15) ==
        TIDINGS_INVALID_ARGUMENT);
  fill(op, 16, 0x60);
  OK(tidings_client_send(chief, 4000, op, 16, mail));
  event = answer(server, conn, chief, 4000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  tidings_event_free(event);
  CHECK(tidings_test_server_sent_count(server) == 1);
  tidings_bytes sent = {NULL, 0};
  uint32_t relation = 9;
  uint64_t original = 9;
  OK(tidings_test_server_sent(server, 0, &sent, &relation, &original));
  CHECK(sent.len > FILE_LEN && holds(sent.data, sent.len, file, FILE_LEN));
  tidings_bytes_free(&sent);

  /* Taken by that mail, the upload is gone: the same mail again is 502. */
  fill(op, 16, 0x61);
  OK(tidings_client_send(chief, 5000, op, 16, mail));
  event = answer(server, conn, chief, 5000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_ERROR);
  CHECK(tidings_event_error(event) == 502);
  tidings_event_free(event);
  CHECK(tidings_test_server_sent_count(server) == 1);

  tidings_outgoing_free(mail);
  free(file);
  tidings_client_free(chief);
  tidings_test_server_free(server);
  puts("upload: ok");
  return 0;
}
