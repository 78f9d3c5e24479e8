/* handset.c: a handset on Tidings, in C, over a TCP socket.
 *
 *   handset PAYLOAD EMAIL
 *
 * Enrolls with the activation payload a user scanned (`tidings-server
 * enroll` prints one), runs the initial sync and prints it, prints "synced",
 * then waits for pushed mail and calendar changes. When a new mail arrives it
 * flags it, and it accepts every invitation that awaits EMAIL's answer. Then
 * it saves its state and closes. Randomness comes from getrandom(2), time
 * from the real-time clock. Build against an installed libtidings (see
 * docs/ffi.md):
 *
 *   cc -std=c11 examples/handset.c $(pkg-config --cflags --libs tidings)
 */
#define _DEFAULT_SOURCE
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static int sock = -1;
static tidings_client *phone;
static const char *me;
static size_t sent, received;
static int answers_awaited;

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void random_bytes(uint8_t *out, size_t len) {
  if (getrandom(out, len, 0) != (ssize_t)len) {
    perror("getrandom");
    exit(1);
  }
}

static int connect_to(const char *hostport) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  if (!colon || (size_t)(colon - hostport) >= sizeof host) return -1;
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = 0;
  struct addrinfo hints = {0}, *found = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &found) != 0) return -1;
  int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

/* Sends everything the session has for the server. */
static void flush(void) {
  tidings_bytes b = {NULL, 0};
  while (tidings_client_poll_transmit(phone, &b) == TIDINGS_OK && b.len) {
    size_t off = 0;
    while (off < b.len) {
      ssize_t n = send(sock, b.data + off, b.len - off, MSG_NOSIGNAL);
      if (n <= 0) {
        perror("send");
        exit(1);
      }
      off += (size_t)n;
    }
    sent += b.len;
    tidings_bytes_free(&b);
  }
}

/* Waits up to `wait_ms` for bytes (or the session's own deadline) and feeds
 * them in; returns 0 when nothing arrived in time. */
static int pump(int wait_ms) {
  uint64_t deadline = 0;
  if (tidings_client_poll_timeout(phone, &deadline) == TIDINGS_OK) {
    uint64_t now = now_ms();
    int until = deadline > now ? (int)(deadline - now) : 0;
    if (until < wait_ms) wait_ms = until;
  }
  struct pollfd p = {sock, POLLIN, 0};
  int ready = poll(&p, 1, wait_ms);
  if (ready <= 0) {
    TRY(tidings_client_handle_timeout(phone, now_ms()));
    flush();
    return 0;
  }
  uint8_t buf[4096];
  ssize_t n = recv(sock, buf, sizeof buf, 0);
  if (n <= 0) {
    fprintf(stderr, "server closed the connection\n");
    exit(1);
  }
  received += (size_t)n;
  (void)tidings_client_handle_bytes(phone, now_ms(), buf, (size_t)n);
  flush();
  return 1;
}

static void show(uint64_t collection, uint64_t id) {
  tidings_item *item = NULL;
  tidings_bytes a = {NULL, 0}, b = {NULL, 0};
  TRY(tidings_client_item(phone, collection, id, &item));
  int mail = tidings_item_kind(item) == TIDINGS_COLLECTION_KIND_MAIL;
  TRY(tidings_item_text(item, mail ? TIDINGS_FIELD_SUBJECT : TIDINGS_FIELD_SUMMARY, &a));
  TRY(tidings_item_text(item, mail ? TIDINGS_FIELD_FROM : TIDINGS_FIELD_START, &b));
  int32_t status = 0;
  if (!mail) (void)tidings_item_attendee_status(item, LIT(me), &status);
  /* A mail's date, in the handset's own time zone. */
  char date[32] = "";
  int64_t seconds = 0;
  int32_t offset = 0;
  if (mail && tidings_item_date(item, &seconds, &offset) == TIDINGS_OK && seconds != 0) {
    time_t t = (time_t)seconds;
    struct tm local;
    if (localtime_r(&t, &local)) strftime(date, sizeof date, " %Y-%m-%d %H:%M", &local);
  }
  printf("    %s %llu: \"%.*s\" %s %.*s%s%s%s\n", mail ? "mail " : "event",
         (unsigned long long)id, (int)a.len, (const char *)a.data,
         mail ? "from" : "at", (int)b.len, (const char *)b.data, date,
         (tidings_item_flags(item) & TIDINGS_MAIL_FLAG_FLAGGED) ? " [flagged]" : "",
         status == TIDINGS_PARTICIPATION_STATUS_ACCEPTED ? " [accepted]" : "");
  tidings_bytes_free(&a);
  tidings_bytes_free(&b);
  tidings_item_free(item);
}

static void print_replica(void) {
  size_t count = tidings_client_collection_count(phone);
  for (size_t i = 0; i < count; i++) {
    tidings_collection c;
    tidings_bytes name = {NULL, 0};
    TRY(tidings_client_collection_at(phone, i, &c));
    TRY(tidings_client_collection_name(phone, c.id, &name));
    printf("  %.*s: %zu item(s)\n", (int)name.len, (const char *)name.data, c.item_count);
    tidings_bytes_free(&name);
    uint64_t ids[256];
    size_t n = 0;
    TRY(tidings_client_item_ids(phone, c.id, ids, 256, &n));
    for (size_t k = 0; k < n && k < 256; k++) show(c.id, ids[k]);
  }
}

/* Accepts every invitation that awaits my answer. */
static void accept_invitations(void) {
  size_t count = tidings_client_collection_count(phone);
  for (size_t i = 0; i < count; i++) {
    tidings_collection c;
    TRY(tidings_client_collection_at(phone, i, &c));
    if (c.kind != TIDINGS_COLLECTION_KIND_CALENDAR) continue;
    uint64_t ids[256];
    size_t n = 0;
    TRY(tidings_client_item_ids(phone, c.id, ids, 256, &n));
    for (size_t k = 0; k < n && k < 256; k++) {
      tidings_item *item = NULL;
      int32_t status = 0;
      TRY(tidings_client_item(phone, c.id, ids[k], &item));
      if (tidings_item_attendee_status(item, LIT(me), &status) == TIDINGS_OK &&
          status == TIDINGS_PARTICIPATION_STATUS_NEEDS_ACTION) {
        uint8_t op[16];
        random_bytes(op, 16);
        TRY(tidings_client_respond(phone, now_ms(), op, 16, c.id, ids[k], TIDINGS_PARTICIPATION_STATUS_ACCEPTED,
                                   LIT("Accepted from my phone")));
        printf("accepting invitation %llu\n", (unsigned long long)ids[k]);
        answers_awaited++;
      }
      tidings_item_free(item);
    }
  }
  flush();
}

/* Handles queued events; returns the id of a newly pushed mail, or 0. */
static uint64_t events(size_t *mail_counts, size_t slots) {
  uint64_t pushed = 0;
  tidings_event *e = NULL;
  while (tidings_client_poll_event(phone, &e) == TIDINGS_OK && e) {
    switch (tidings_event_get_kind(e)) {
      case TIDINGS_EVENT_ENROLLED:
        printf("enrolled as device %llu\n", (unsigned long long)tidings_event_id(e));
        break;
      case TIDINGS_EVENT_CHANGED: {
        size_t count = tidings_client_collection_count(phone);
        for (size_t i = 0; i < count && i < slots; i++) {
          tidings_collection c;
          TRY(tidings_client_collection_at(phone, i, &c));
          if (c.id != tidings_event_id(e)) continue;
          if (mail_counts && c.kind == TIDINGS_COLLECTION_KIND_MAIL && c.item_count > mail_counts[i]) {
            uint64_t ids[256];
            size_t n = 0;
            TRY(tidings_client_item_ids(phone, c.id, ids, 256, &n));
            if (n > 0 && n <= 256) {
              printf("pushed to collection %llu:\n", (unsigned long long)c.id);
              show(c.id, ids[n - 1]);
              pushed = ids[n - 1];
            }
          }
          if (mail_counts) mail_counts[i] = c.item_count;
        }
        break;
      }
      case TIDINGS_EVENT_CAUGHT_UP:
        printf("collection %llu caught up at %llu\n", (unsigned long long)tidings_event_id(e),
               (unsigned long long)tidings_event_version(e));
        break;
      case TIDINGS_EVENT_COLLECTIONS_CHANGED:
        printf("collections changed: %zu visible\n", tidings_client_collection_count(phone));
        break;
      case TIDINGS_EVENT_OPERATION_RESULT:
        printf("operation answered: outcome %d\n", (int)tidings_event_outcome(e));
        answers_awaited--;
        break;
      case TIDINGS_EVENT_CLOSED:
        fprintf(stderr, "session closed: error %u\n", tidings_event_error(e));
        exit(1);
      default:
        break;
    }
    tidings_event_free(e);
  }
  return pushed;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: handset PAYLOAD EMAIL\n");
    return 2;
  }
  me = argv[2];
  tidings_activation *payload = NULL;
  tidings_bytes tcp = {NULL, 0}, code = {NULL, 0};
  uint8_t server_key[32], random[32];
  TRY(tidings_activation_parse(LIT(argv[1]), &payload));
  TRY(tidings_activation_tcp(payload, &tcp));
  TRY(tidings_activation_code(payload, &code));
  TRY(tidings_activation_server_key(payload, server_key, 32));
  char address[300];
  snprintf(address, sizeof address, "%.*s", (int)tcp.len, (const char *)tcp.data);
  sock = connect_to(address);
  if (sock < 0) {
    fprintf(stderr, "cannot connect to %s\n", address);
    return 1;
  }

  /* Enrollment: a fresh key pair, the pinned server key, the code. */
  tidings_keypair *keys = NULL;
  tidings_client_state *state = NULL;
  random_bytes(random, 32);
  TRY(tidings_keypair_new(random, 32, &keys));
  TRY(tidings_client_state_new(keys, server_key, 32, &state));
  random_bytes(random, 32);
  TRY(tidings_client_enroll(state, code.data, code.len, LIT("C handset"), random, 32,
                            now_ms(), &phone));
  flush();

  /* The initial sync: done when the server says every collection is caught up. */
  for (uint64_t give_up = now_ms() + 30000; !tidings_client_is_caught_up(phone);) {
    if (now_ms() > give_up) {
      fprintf(stderr, "the initial sync did not finish within 30 s\n");
      return 1;
    }
    pump(1000);
    events(NULL, 0);
  }
  print_replica();
  printf("synced (%zu B up, %zu B down)\n", sent, received);
  fflush(stdout);

  /* Wait for a pushed mail; flag it; answer invitations. */
  size_t counts[64] = {0};
  for (size_t i = 0; i < tidings_client_collection_count(phone) && i < 64; i++) {
    tidings_collection c;
    TRY(tidings_client_collection_at(phone, i, &c));
    counts[i] = c.item_count;
  }
  uint64_t pushed = 0;
  for (uint64_t give_up = now_ms() + 30000; !pushed && now_ms() < give_up;) {
    pump(1000);
    pushed = events(counts, 64);
  }
  if (!pushed) {
    fprintf(stderr, "no mail was pushed within 30 s\n");
    return 1;
  }
  size_t count = tidings_client_collection_count(phone);
  for (size_t i = 0; i < count; i++) {
    tidings_collection c;
    TRY(tidings_client_collection_at(phone, i, &c));
    uint64_t ids[256];
    size_t n = 0;
    TRY(tidings_client_item_ids(phone, c.id, ids, 256, &n));
    for (size_t k = 0; k < n && k < 256; k++) {
      if (ids[k] != pushed) continue;
      uint8_t op[16];
      random_bytes(op, 16);
      TRY(tidings_client_set_flags(phone, now_ms(), op, 16, c.id, &pushed, 1, TIDINGS_MAIL_FLAG_FLAGGED, 0));
      printf("flagging mail %llu\n", (unsigned long long)pushed);
      answers_awaited++;
    }
  }
  accept_invitations();
  for (uint64_t give_up = now_ms() + 30000; answers_awaited > 0 && now_ms() < give_up;) {
    pump(1000);
    events(NULL, 0);
  }
  if (answers_awaited > 0) {
    fprintf(stderr, "operations unanswered\n");
    return 1;
  }

  tidings_bytes saved = {NULL, 0};
  TRY(tidings_client_save(phone, &saved));
  printf("done: state saved (%zu bytes); %zu B up, %zu B down in all\n", saved.len, sent,
         received);
  TRY(tidings_client_close(phone, now_ms()));
  flush();
  close(sock);
  tidings_bytes_free(&saved);
  tidings_bytes_free(&tcp);
  tidings_bytes_free(&code);
  tidings_activation_free(payload);
  tidings_client_free(phone);
  tidings_client_state_free(state);
  tidings_keypair_free(keys);
  return 0;
}
