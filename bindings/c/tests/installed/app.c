/* A C program built against an installed libtidings, found only through
 * pkg-config (`cargo xtask install-c`, then the "C library installed"
 * step of `cargo xtask test`). It uses only the public header: the version,
 * the named constants, an activation payload, keys, a state saved and
 * restored, a reconnect's first bytes, and size queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tidings.h>

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                   \
      return 1;                                                         \
    }                                                                   \
  } while (0)
#define OK(call) CHECK((call) == TIDINGS_OK)
#define LIT(s) (const uint8_t *)(s), strlen(s)

static const char PAYLOAD[] =
    "tidings:enroll?tcp=127.0.0.1:4650&key="
    "abababababababababababababababababababababababababababababababab"
    "&code=0123-4567-89AB-CDEF";

int main(void) {
  /* The library is the one the header describes. */
  CHECK(strcmp(tidings_version(), TIDINGS_VERSION) == 0);
  CHECK(strcmp(tidings_result_description(TIDINGS_ERROR_ACTIVATION_REJECTED),
               "activation code rejected") == 0);
  CHECK(TIDINGS_ERROR_NULL_ARGUMENT == TIDINGS_NULL_ARGUMENT);

  /* The payload a user scans. */
  tidings_activation *activation = NULL;
  CHECK(tidings_activation_parse(LIT("tidings:enroll?nothing"), &activation) ==
        TIDINGS_ERROR_ACTIVATION_REJECTED);
  OK(tidings_activation_parse(LIT(PAYLOAD), &activation));
  uint8_t server_key[32];
  OK(tidings_activation_server_key(activation, server_key, 32));
  CHECK(server_key[0] == 0xab && server_key[31] == 0xab);
  tidings_bytes tcp = {NULL, 0};
  OK(tidings_activation_tcp(activation, &tcp));
  CHECK(tcp.len == strlen("127.0.0.1:4650"));
  tidings_bytes_free(&tcp);
  tidings_activation_free(activation);

  /* Keys and a fresh state, saved and restored byte for byte. */
  uint8_t random[32];
  memset(random, 7, sizeof random);
  tidings_keypair *keys = NULL;
  tidings_client_state *state = NULL, *restored = NULL;
  OK(tidings_keypair_new(random, 32, &keys));
  OK(tidings_client_state_new(keys, server_key, 32, &state));
  tidings_keypair_free(keys);
  CHECK(!tidings_client_state_is_enrolled(state));
  tidings_bytes saved = {NULL, 0}, again = {NULL, 0};
  OK(tidings_client_state_save(state, &saved));
  OK(tidings_client_state_restore(saved.data, saved.len, &restored));
  OK(tidings_client_state_save(restored, &again));
  CHECK(again.len == saved.len && memcmp(again.data, saved.data, saved.len) == 0);
  tidings_bytes_free(&again);
  tidings_bytes_free(&saved);
  tidings_client_state_free(restored);

  /* Enrollment starts: the first handshake message is ready to send. */
  tidings_client *client = NULL;
  memset(random, 9, sizeof random);
  OK(tidings_client_enroll(state, LIT("0123-4567-89AB-CDEF"), LIT("installed"),
                           random, 32, 1000, &client));
  tidings_client_state_free(state);
  tidings_bytes first = {NULL, 0};
  OK(tidings_client_poll_transmit(client, &first));
  CHECK(first.len > 32);
  tidings_bytes_free(&first);
  CHECK(!tidings_client_is_established(client));

  /* Size queries take a NULL buffer; a NULL count is still refused. */
  size_t count = 99;
  CHECK(tidings_client_item_ids(client, 1, NULL, 0, &count) ==
        TIDINGS_INVALID_ARGUMENT); /* no such collection yet */
  CHECK(tidings_client_item_ids(client, 1, NULL, 0, NULL) ==
        TIDINGS_NULL_ARGUMENT);
  CHECK(tidings_client_collection_count(client) == 0);
  tidings_client_free(client);

  /* Composing a mail needs no server. */
  tidings_outgoing *mail = NULL;
  OK(tidings_outgoing_new(&mail));
  OK(tidings_outgoing_add_recipient(mail, TIDINGS_ADDRESSES_TO, LIT("Mayor"),
                                    LIT("mayor@town.example")));
  CHECK(tidings_outgoing_add_recipient(mail, TIDINGS_ADDRESSES_FROM, LIT(""),
                                       LIT("x@town.example")) ==
        TIDINGS_INVALID_ARGUMENT);
  tidings_outgoing_free(mail);

  printf("installed libtidings %s: ok\n", tidings_version());
  return 0;
}
