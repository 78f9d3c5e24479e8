/* Every error path from C: NULL arguments, bad lengths, a wrong activation
 * code, bad state bytes, NULL frees, and the shared error vectors. */
#include "common.h"

#define NUL TIDINGS_NULL_ARGUMENT
#define INV TIDINGS_INVALID_ARGUMENT

/* docs/test-vectors/errors.json, read plainly: every code has the same
 * description from C as in the table. */
static int check_vectors(const char *path) {
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  static char text[1 << 16];
  size_t len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = 0;
  int checked = 0;
  for (char *at = strstr(text, "\"code\":"); at; at = strstr(at + 1, "\"code\":")) {
    unsigned code = (unsigned)strtoul(at + 7, NULL, 10);
    char *desc = strstr(at, "\"description\": \"");
    CHECK(desc != NULL);
    desc += strlen("\"description\": \"");
    size_t n = (size_t)(strchr(desc, '"') - desc);
    const char *ours = tidings_result_description((tidings_result)code);
    CHECK(ours != NULL && strlen(ours) == n && memcmp(ours, desc, n) == 0);
    checked++;
  }
  return checked;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  CHECK(check_vectors(argv[1]) > 30);
  CHECK(tidings_result_description(0) == NULL);
  CHECK(strcmp(tidings_version(), TIDINGS_VERSION) == 0);

  uint8_t b[32];
  fill(b, 32, 3);
  tidings_bytes out = {NULL, 0};
  tidings_keypair *keys = NULL;
  tidings_client_state *state = NULL;
  tidings_client *client = NULL;
  tidings_event *event = NULL;
  tidings_item *item = NULL;
  uint64_t u = 0, ids[2] = {1, 2};
  size_t n = 0;
  int32_t status = 0;

  /* NULL handles, inputs and out-parameters: an error, never a crash, and
   * out-parameters untouched. */
  CHECK(tidings_keypair_new(NULL, 32, &keys) == NUL);
  CHECK(tidings_keypair_new(b, 32, NULL) == NUL);
  CHECK(tidings_keypair_new(b, 31, &keys) == INV && keys == NULL);
  CHECK(tidings_keypair_public(NULL, b, 32) == NUL);
  CHECK(tidings_client_state_new(NULL, b, 32, &state) == NUL);
  CHECK(tidings_client_state_restore(NULL, 0, &state) == NUL);
  CHECK(tidings_client_state_save(NULL, &out) == NUL);
  CHECK(!tidings_client_state_is_enrolled(NULL));
  CHECK(tidings_client_enroll(NULL, b, 1, b, 1, b, 32, 0, &client) == NUL);
  CHECK(tidings_client_resume(NULL, b, 32, 0, &client) == NUL);
  CHECK(tidings_client_handle_bytes(NULL, 0, b, 1) == NUL);
  CHECK(tidings_client_poll_transmit(NULL, &out) == NUL);
  CHECK(tidings_client_poll_timeout(NULL, &u) == NUL);
  CHECK(tidings_client_handle_timeout(NULL, 0) == NUL);
  CHECK(tidings_client_close(NULL, 0) == NUL);
  CHECK(tidings_client_acknowledge_wipe(NULL, 0, 1) == NUL);
  CHECK(tidings_client_save(NULL, &out) == NUL);
  CHECK(tidings_client_poll_event(NULL, &event) == NUL);
  CHECK(!tidings_client_is_established(NULL) && !tidings_client_is_closed(NULL));
  CHECK(tidings_client_device_id(NULL) == 0);
  CHECK(tidings_client_set_flags(NULL, 0, b, 16, 1, ids, 2, 1, 0) == NUL);
  CHECK(tidings_client_move(NULL, 0, b, 16, 1, ids, 2, 2) == NUL);
  CHECK(tidings_client_delete(NULL, 0, b, 16, 1, ids, 2) == NUL);
  CHECK(tidings_client_respond(NULL, 0, b, 16, 1, 1, 2, b, 0) == NUL);
  CHECK(tidings_client_create_event(NULL, 0, b, 16, 1, b, 0) == NUL);
  CHECK(tidings_client_update_event(NULL, 0, b, 16, 1, b, 0, 1) == NUL);
  CHECK(tidings_client_delete_event(NULL, 0, b, 16, 1, 1, 1) == NUL);
  CHECK(tidings_client_fetch_range(NULL, 0, b, 16, 1, 1, 1, false, 0, 9) == NUL);
  CHECK(tidings_client_search(NULL, 0, b, 16, b, 1, 0) == NUL);
  CHECK(tidings_client_submit_encoded(NULL, 0, b, 1) == NUL);
  CHECK(tidings_client_collection_count(NULL) == 0);
  tidings_collection coll;
  CHECK(tidings_client_collection_at(NULL, 0, &coll) == NUL);
  CHECK(tidings_client_collection_name(NULL, 1, &out) == NUL);
  CHECK(tidings_client_item_ids(NULL, 1, ids, 2, &n) == NUL);
  CHECK(tidings_client_item(NULL, 1, 1, &item) == NUL);
  CHECK(tidings_item_kind(NULL) == 0 && tidings_item_flags(NULL) == 0);
  CHECK(tidings_item_version(NULL) == 0);
  CHECK(tidings_item_attendee_status(NULL, b, 1, &status) == NUL);
  CHECK(tidings_item_text(NULL, TIDINGS_FIELD_SUBJECT, &out) == NUL);
  CHECK(tidings_item_encoded(NULL, &out) == NUL);
  CHECK(tidings_event_get_kind(NULL) == TIDINGS_EVENT_NONE);
  CHECK(tidings_event_id(NULL) == 0 && tidings_event_version(NULL) == 0);
  CHECK(tidings_event_error(NULL) == 0);
  CHECK(tidings_event_outcome(NULL) == TIDINGS_OUTCOME_NONE);
  CHECK(tidings_event_op_id(NULL, b, 16) == NUL);
  CHECK(tidings_event_range(NULL, &u, &u, &out) == NUL);
  CHECK(tidings_event_search_hit(NULL, 0, &u, &u) == NUL);
  CHECK(tidings_event_search_hit_count(NULL) == 0);
  CHECK(tidings_event_encoded(NULL, &out) == NUL);
  CHECK(out.data == NULL && out.len == 0 && state == NULL && client == NULL);
  CHECK(event == NULL && item == NULL && u == 0 && n == 0 && status == 0);

  /* Freeing NULL, and the same bytes twice, is harmless. */
  tidings_keypair_free(NULL);
  tidings_client_state_free(NULL);
  tidings_client_free(NULL);
  tidings_event_free(NULL);
  tidings_item_free(NULL);
  tidings_test_server_free(NULL);
  tidings_bytes_free(NULL);
  tidings_bytes_free(&out);

  /* Bad state bytes are refused with a code, and no state. */
  uint8_t junk[64];
  fill(junk, sizeof junk, 0xee);
  tidings_result bad = tidings_client_state_restore(junk, sizeof junk, &state);
  CHECK(bad != TIDINGS_OK && tidings_result_description(bad) != NULL);
  CHECK(state == NULL);

  /* A wrong activation code: the session closes with an error code. */
  tidings_test_town t;
  tidings_test_server *server = town(&t);
  uint8_t server_public[32];
  OK(tidings_test_server_public_key(server, server_public, 32));
  OK(tidings_keypair_new(b, 32, &keys));
  OK(tidings_keypair_public(keys, b, 32));
  OK(tidings_client_state_new(keys, server_public, 32, &state));
  CHECK(!tidings_client_state_is_enrolled(state));
  OK(tidings_client_enroll(state, LIT("AAAA-BBBB-CCCC-DDDD"), LIT("phone"), b,
                           32, 1000, &client));
  size_t conn = 0;
  OK(tidings_test_server_accept(server, b, 32, 1000, &conn));
  pump(server, conn, client, 1000);
  CHECK(!tidings_client_is_established(client));
  tidings_result why = 0;
  for (;;) {
    OK(tidings_client_poll_event(client, &event));
    if (event == NULL) break;
    if (tidings_event_get_kind(event) == TIDINGS_EVENT_CLOSED)
      why = tidings_event_error(event);
    tidings_event_free(event);
  }
  CHECK(why != 0 && tidings_result_description(why) != NULL);
  printf("wrong code closes with %u (%s)\n", why, tidings_result_description(why));

  /* Resuming an unenrolled state is refused; so are bad op ids. */
  CHECK(tidings_client_resume(state, b, 32, 0, &client) != TIDINGS_OK);
  CHECK(tidings_client_set_flags(client, 0, b, 15, 1, ids, 1, 1, 0) == INV);
  CHECK(tidings_client_submit_encoded(client, 0, junk, sizeof junk) != TIDINGS_OK);
  tidings_client_free(client);
  tidings_client_state_free(state);
  tidings_keypair_free(keys);
  tidings_test_server_free(server);

  /* Activation payloads: parsed whole, refused with a reason otherwise. */
  const char *good = "tidings:enroll?tcp=127.0.0.1:4650&key="
                     "abababababababababababababababababababababababababababababababab"
                     "&code=ABCD-EFGH-JKMN-PQRS";
  const char *ws_only = "tidings:enroll?ws=ws://127.0.0.1:4651/tidings&key="
                        "abababababababababababababababababababababababababababababababab"
                        "&code=ABCD-EFGH-JKMN-PQRS";
  tidings_activation *payload = NULL;
  CHECK(tidings_activation_parse((const uint8_t *)good, strlen(good), &payload) == TIDINGS_OK);
  uint8_t key[32];
  CHECK(tidings_activation_server_key(payload, key, 32) == TIDINGS_OK && key[31] == 0xab);
  CHECK(tidings_activation_server_key(payload, key, 31) == INV);
  CHECK(tidings_activation_tcp(payload, &out) == TIDINGS_OK);
  CHECK(out.len == 14 && memcmp(out.data, "127.0.0.1:4650", 14) == 0);
  tidings_bytes_free(&out);
  CHECK(tidings_activation_code(NULL, &out) == NUL);
  tidings_activation_free(payload);
  tidings_activation_free(NULL);
  CHECK(tidings_activation_parse((const uint8_t *)ws_only, strlen(ws_only), &payload) == TIDINGS_OK);
  CHECK(tidings_activation_tcp(payload, &out) == 502 /* not found */ && out.data == NULL);
  tidings_activation_free(payload);
  payload = NULL;
  const char *keyless = "tidings:enroll?tcp=127.0.0.1:4650&code=ABCD";
  CHECK(tidings_activation_parse((const uint8_t *)keyless, strlen(keyless), &payload) ==
        601 /* activation rejected */);
  CHECK(payload == NULL);
  CHECK(tidings_activation_parse(NULL, 3, &payload) == NUL);
  puts("errors: ok");
  return 0;
}
