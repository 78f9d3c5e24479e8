/* No lockout from C: a lost handshake answer, a crash before the state was
 * saved, and a restored old state all end with the device connected again,
 * never refused for good as a replay (issue 14; handshake.md, IK timestamp). */
#include "common.h"

/* Restores `saved`, resumes at `now`, stores the advanced counter (its bytes
 * go to `*stored` when asked) and confirms it, as a handset must before its
 * hello may go out. */
static tidings_client *resume_from(const tidings_bytes *saved, uint64_t now,
                                   uint8_t seed, tidings_bytes *stored) {
  tidings_client_state *state = NULL;
  tidings_client *client = NULL;
  uint8_t random[32];
  OK(tidings_client_state_restore(saved->data, saved->len, &state));
  fill(random, 32, seed);
  OK(tidings_client_resume(state, random, 32, now, &client));
  tidings_client_state_free(state);
  tidings_bytes bytes = {NULL, 0};
  OK(tidings_client_save(client, &bytes));
  if (stored != NULL) {
    *stored = bytes;
  } else {
    tidings_bytes_free(&bytes);
  }
  OK(tidings_client_confirm_state_saved(client));
  return client;
}

static size_t accept_at(tidings_test_server *server, uint64_t now,
                        uint8_t seed) {
  uint8_t random[32];
  size_t conn = 0;
  fill(random, 32, seed);
  OK(tidings_test_server_accept(server, random, 32, now, &conn));
  return conn;
}

/* The last CLOSED event's error, or -1 when the session did not close. */
static int closed_with(tidings_client *client) {
  int error = -1;
  tidings_event *event = NULL;
  for (;;) {
    OK(tidings_client_poll_event(client, &event));
    if (event == NULL) return error;
    if (tidings_event_get_kind(event) == TIDINGS_EVENT_CLOSED) {
      error = (int)tidings_event_error(event);
    }
    tidings_event_free(event);
  }
}

int main(void) {
  tidings_test_town t;
  tidings_test_server *server = town(&t);
  size_t conn = 0;
  tidings_client *phone = enroll(server, t.mayor, 21, 1000, &conn);
  tidings_bytes enrolled = {NULL, 0};
  OK(tidings_client_save(phone, &enrolled));
  tidings_client_free(phone);

  /* 1. The server takes the hello, its answer is lost on the way back. */
  tidings_bytes stored = {NULL, 0};
  phone = resume_from(&enrolled, 2000, 30, &stored);
  conn = accept_at(server, 2000, 31);
  tidings_bytes out = {NULL, 0};
  for (;;) {
    OK(tidings_client_poll_transmit(phone, &out));
    if (out.len == 0) break;
    OK(tidings_test_server_handle_bytes(server, conn, 2000, out.data, out.len));
    tidings_bytes_free(&out);
  }
  for (;;) {
    OK(tidings_test_server_poll_transmit(server, conn, &out));
    if (out.len == 0) break;
    tidings_bytes_free(&out); /* dropped by a proxy */
  }
  tidings_client_free(phone);

  /* Retrying from the stored state in the same millisecond is accepted. */
  phone = resume_from(&stored, 2000, 32, NULL);
  tidings_bytes_free(&stored);
  conn = accept_at(server, 2000, 33);
  pump(server, conn, phone, 2000);
  CHECK(tidings_client_is_established(phone));
  CHECK(drain(phone, TIDINGS_EVENT_CONNECTED, NULL) == 1);
  tidings_client_free(phone);

  /* 2. Killed before anything was saved, and the clock went back: the old
   * state's hello is refused as a replay, with the server's floor, which the
   * device adopts; the next try connects. */
  phone = resume_from(&enrolled, 1500, 40, NULL);
  conn = accept_at(server, 1500, 41);
  pump(server, conn, phone, 1500);
  CHECK(!tidings_client_is_established(phone) || tidings_client_is_closed(phone));
  CHECK(closed_with(phone) == TIDINGS_ERROR_REPLAY);
  tidings_bytes floored = {NULL, 0};
  OK(tidings_client_save(phone, &floored));
  tidings_client_free(phone);
  phone = resume_from(&floored, 1500, 42, NULL);
  tidings_bytes_free(&floored);
  conn = accept_at(server, 1500, 43);
  pump(server, conn, phone, 1500);
  CHECK(tidings_client_is_established(phone));
  CHECK(!tidings_client_is_closed(phone));
  CHECK(drain(phone, TIDINGS_EVENT_CONNECTED, NULL) == 1);

  tidings_client_free(phone);
  tidings_bytes_free(&enrolled);
  tidings_test_server_free(server);
  puts("lockout: ok");
  return 0;
}
