/* handset.c: a handset's view of Tidings, in C.
 *
 * Enrolls the mayor's phone (against the in-memory loopback server, until a
 * network reference server exists), runs the initial sync, prints mail and
 * calendar changes as they are pushed, flags a message and accepts an
 * invitation. On a real handset, `exchange` is the socket and the random
 * bytes come from the platform's CSPRNG.
 *
 *   cc -std=c11 -DTIDINGS_LOOPBACK_SERVER -Iinclude examples/handset.c \
 *      target/debug/libtidings.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidings.h"

#define TRY(call)                                                          \
  do {                                                                     \
    tidings_result r_ = (call);                                            \
    if (r_ != TIDINGS_OK) {                                                \
      fprintf(stderr, "%s failed: %u %s\n", #call, r_,                    \
              tidings_result_description(r_));                             \
      exit(1);                                                             \
    }                                                                      \
  } while (0)
#define LIT(s) (const uint8_t *)(s), strlen(s)

static tidings_test_server *server;
static size_t conn;

/* The "network": send what the phone has, deliver what the server has. */
static void exchange(tidings_client *phone, uint64_t now) {
  int moved = 1;
  while (moved) {
    tidings_bytes b = {NULL, 0};
    moved = 0;
    while (tidings_client_poll_transmit(phone, &b) == TIDINGS_OK && b.len) {
      (void)tidings_test_server_handle_bytes(server, conn, now, b.data, b.len);
      tidings_bytes_free(&b);
      moved = 1;
    }
    while (tidings_test_server_poll_transmit(server, conn, &b) == TIDINGS_OK &&
           b.len) {
      (void)tidings_client_handle_bytes(phone, now, b.data, b.len);
      tidings_bytes_free(&b);
      moved = 1;
    }
  }
}

static void show(tidings_client *phone, uint64_t collection, uint64_t id) {
  tidings_item *item = NULL;
  tidings_bytes a = {NULL, 0}, b = {NULL, 0};
  TRY(tidings_client_item(phone, collection, id, &item));
  int mail = tidings_item_kind(item) == 1;
  TRY(tidings_item_text(item, mail ? TIDINGS_FIELD_SUBJECT : TIDINGS_FIELD_SUMMARY, &a));
  TRY(tidings_item_text(item, mail ? TIDINGS_FIELD_FROM : TIDINGS_FIELD_START, &b));
  int32_t status = 0;
  if (!mail) (void)tidings_item_attendee_status(item, LIT("mayor@town.example"), &status);
  printf("  %s %llu: \"%.*s\" %s %.*s%s%s\n", mail ? "mail " : "event",
         (unsigned long long)id, (int)a.len, (const char *)a.data,
         mail ? "from" : "at", (int)b.len, (const char *)b.data,
         (tidings_item_flags(item) & 2) ? " [flagged]" : "",
         status == 2 ? " [accepted]" : "");
  tidings_bytes_free(&a);
  tidings_bytes_free(&b);
  tidings_item_free(item);
}

/* Prints what the events say and returns after the queue is empty. */
static void events(tidings_client *phone) {
  tidings_event *e = NULL;
  while (tidings_client_poll_event(phone, &e) == TIDINGS_OK && e) {
    uint64_t ids[64];
    size_t n = 0;
    switch (tidings_event_get_kind(e)) {
      case TIDINGS_EVENT_ENROLLED:
        printf("enrolled as device %llu\n", (unsigned long long)tidings_event_id(e));
        break;
      case TIDINGS_EVENT_CHANGED:
        printf("collection %llu changed:\n", (unsigned long long)tidings_event_id(e));
        TRY(tidings_client_item_ids(phone, tidings_event_id(e), ids, 64, &n));
        for (size_t i = 0; i < n && i < 64; i++) show(phone, tidings_event_id(e), ids[i]);
        break;
      case TIDINGS_EVENT_OPERATION_RESULT:
        printf("operation answered: outcome %d\n", (int)tidings_event_outcome(e));
        break;
      case TIDINGS_EVENT_CLOSED:
        printf("closed: %u\n", tidings_event_error(e));
        break;
      default:
        break;
    }
    tidings_event_free(e);
  }
}

int main(void) {
  uint8_t random[32], server_public[32];
  tidings_test_town town;
  memset(random, 0x51, 32);
  TRY(tidings_test_server_new(random, 32, &server));
  TRY(tidings_test_server_seed_town(server, &town));
  uint64_t meeting = 0, mail = 0;
  TRY(tidings_test_server_add_meeting(server, town.mayor_calendar, LIT("Harbour board"),
                                      LIT("mayor@town.example"), &meeting));

  /* Enrollment: a fresh key, the pinned server key, the code as typed. */
  tidings_bytes code = {NULL, 0};
  memset(random, 2, 10);
  TRY(tidings_test_server_activation(server, town.mayor, random, 10, &code));
  TRY(tidings_test_server_public_key(server, server_public, 32));
  tidings_keypair *keys = NULL;
  tidings_client_state *state = NULL;
  tidings_client *phone = NULL;
  memset(random, 3, 32);
  TRY(tidings_keypair_new(random, 32, &keys));
  TRY(tidings_client_state_new(keys, server_public, 32, &state));
  memset(random, 4, 32);
  TRY(tidings_client_enroll(state, code.data, code.len, LIT("mayor's phone"), random, 32,
                            1000, &phone));
  memset(random, 5, 32);
  TRY(tidings_test_server_accept(server, random, 32, 1000, &conn));
  exchange(phone, 1000);
  events(phone); /* the initial sync */

  /* New mail arrives at the server and is pushed live. */
  const char *rfc5322 =
      "From: Town Clerk <clerk@town.example>\r\nTo: mayor@town.example\r\n"
      "Subject: Council meets Thursday\r\n\r\nIn the chamber, at nine.\r\n";
  TRY(tidings_test_server_add_mail(server, town.mayor_inbox, LIT(rfc5322), &mail));
  TRY(tidings_test_server_push(server, 2000));
  exchange(phone, 2000);
  events(phone);

  /* Flag it, and accept the invitation; each op id is fresh randomness. */
  uint8_t op[16];
  memset(op, 6, 16);
  TRY(tidings_client_set_flags(phone, 3000, op, 16, town.mayor_inbox, &mail, 1, 2, 0));
  memset(op, 7, 16);
  TRY(tidings_client_respond(phone, 3000, op, 16, town.mayor_calendar, meeting,
                             2 /* accepted */, LIT("See you there")));
  exchange(phone, 3000);
  TRY(tidings_test_server_push(server, 3000));
  exchange(phone, 3000);
  events(phone);

  tidings_bytes saved = {NULL, 0};
  TRY(tidings_client_save(phone, &saved));
  printf("state saved: %zu bytes\n", saved.len);
  tidings_bytes_free(&saved);
  tidings_bytes_free(&code);
  tidings_client_free(phone);
  tidings_client_state_free(state);
  tidings_keypair_free(keys);
  tidings_test_server_free(server);
  return 0;
}
