/* Shared helpers of the C tests: checks, a byte pump, an enrolled device. */
#ifndef TIDINGS_TEST_COMMON_H
#define TIDINGS_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidings.h"

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

#define OK(call) CHECK((call) == TIDINGS_OK)
#define LIT(s) (const uint8_t *)(s), strlen(s)

static inline void fill(uint8_t *buf, size_t len, uint8_t seed) {
  memset(buf, seed, len);
}

/* Moves bytes both ways through the public byte API until both are quiet,
 * as a network would; then lets the server push what changed. */
static inline void pump(tidings_test_server *server, size_t conn,
                        tidings_client *client, uint64_t now) {
  for (int round = 0; round < 10000; round++) {
    int moved = 0;
    tidings_bytes out = {NULL, 0};
    for (;;) {
      OK(tidings_client_poll_transmit(client, &out));
      if (out.len == 0) break;
      moved = 1;
      /* A refused peer is closed by the server; its answer still flows. */
      (void)tidings_test_server_handle_bytes(server, conn, now, out.data,
                                             out.len);
      tidings_bytes_free(&out);
    }
    for (;;) {
      OK(tidings_test_server_poll_transmit(server, conn, &out));
      if (out.len == 0) break;
      moved = 1;
      (void)tidings_client_handle_bytes(client, now, out.data, out.len);
      tidings_bytes_free(&out);
    }
    if (!moved) return;
  }
  CHECK(!"the sessions never went quiet");
}

/* Drains events, returning how many had `kind` (and the last one's id). */
static inline int drain(tidings_client *client, tidings_event_kind kind,
                        uint64_t *last_id) {
  int seen = 0;
  tidings_event *event = NULL;
  for (;;) {
    OK(tidings_client_poll_event(client, &event));
    if (event == NULL) return seen;
    if (tidings_event_get_kind(event) == kind) {
      seen++;
      if (last_id != NULL) *last_id = tidings_event_id(event);
    }
    tidings_event_free(event);
  }
}

/* Enrolls a device of `principal` (all randomness from `seed`) and runs it
 * to its initial sync. */
static inline tidings_client *enroll(tidings_test_server *server,
                                     uint64_t principal, uint8_t seed,
                                     uint64_t now, size_t *conn) {
  uint8_t random[32], server_public[32];
  tidings_bytes code = {NULL, 0};
  tidings_keypair *keys = NULL;
  tidings_client_state *state = NULL;
  tidings_client *client = NULL;
  fill(random, 10, seed);
  OK(tidings_test_server_activation(server, principal, random, 10, &code));
  OK(tidings_test_server_public_key(server, server_public, 32));
  fill(random, 32, seed);
  OK(tidings_keypair_new(random, 32, &keys));
  OK(tidings_client_state_new(keys, server_public, 32, &state));
  fill(random, 32, (uint8_t)(seed + 1));
  OK(tidings_client_enroll(state, code.data, code.len, LIT("phone"), random,
                           32, now, &client));
  fill(random, 32, (uint8_t)(seed + 2));
  OK(tidings_test_server_accept(server, random, 32, now, conn));
  pump(server, *conn, client, now);
  CHECK(tidings_client_is_established(client));
  tidings_bytes_free(&code);
  tidings_client_state_free(state);
  tidings_keypair_free(keys);
  return client;
}

/* Runs until the operation is answered; returns its (owned) event. */
static inline tidings_event *answer(tidings_test_server *server, size_t conn,
                                    tidings_client *client, uint64_t now,
                                    const uint8_t op_id[16]) {
  pump(server, conn, client, now);
  tidings_event *event = NULL;
  for (;;) {
    OK(tidings_client_poll_event(client, &event));
    CHECK(event != NULL);
    if (tidings_event_get_kind(event) == TIDINGS_EVENT_OPERATION_RESULT) {
      uint8_t id[16];
      OK(tidings_event_op_id(event, id, 16));
      if (memcmp(id, op_id, 16) == 0) return event;
    }
    tidings_event_free(event);
  }
}

static inline tidings_test_server *town(tidings_test_town *t) {
  uint8_t secret[32];
  tidings_test_server *server = NULL;
  fill(secret, 32, 0x51);
  OK(tidings_test_server_new(secret, 32, &server));
  OK(tidings_test_server_seed_town(server, t));
  return server;
}

#endif
