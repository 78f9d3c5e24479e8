/* docs/test-vectors/ (wire.json and session.json), checked against the
 * library a handset links: every padded payload unpads to its envelope and
 * pads back to the same bytes, every envelope carries the body it says, and
 * every packed item unpacks to its Item. The Rust side of the test turns the
 * JSON into one vector per line (argv[1]); see c_programs.rs. */
#include "common.h"

/* Hex to bytes; "-" is the empty string. Returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  if (strcmp(hex, "-") == 0) return 0;
  size_t n = strlen(hex);
  CHECK(n % 2 == 0 && n / 2 <= cap);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned byte = 0;
    CHECK(sscanf(hex + 2 * i, "%2x", &byte) == 1);
    out[i] = (uint8_t)byte;
  }
  return n / 2;
}

static int same(const tidings_bytes *got, const uint8_t *want, size_t len) {
  return got->len == len && (len == 0 || memcmp(got->data, want, len) == 0);
}

static int contains(const tidings_bytes *hay, const uint8_t *needle, size_t n) {
  for (size_t i = 0; n <= hay->len && i + n <= hay->len; i++) {
    if (memcmp(hay->data + i, needle, n) == 0) return 1;
  }
  return 0;
}

enum { CAP = 1 << 16 };
static uint8_t a[CAP], b[CAP];
static char line[4 * CAP], word[3][2 * CAP + 1];

int main(int argc, char **argv) {
  CHECK(argc == 2);
  FILE *f = fopen(argv[1], "r");
  CHECK(f != NULL);
  int envelopes = 0, pads = 0, items = 0, texts = 0;
  tidings_bytes last_item = {NULL, 0};
  while (fgets(line, sizeof line, f)) {
    char kind[16];
    int fields = sscanf(line, "%15s %131072s %131072s %131072s", kind, word[0],
                        word[1], word[2]);
    CHECK(fields >= 2);
    tidings_bytes out = {NULL, 0};
    if (strcmp(kind, "pad") == 0) {
      /* pad BODY PADDED */
      size_t body = unhex(word[0], a, CAP), padded = unhex(word[1], b, CAP);
      OK(tidings_test_pad(a, body, &out));
      CHECK(same(&out, b, padded));
      tidings_bytes_free(&out);
      OK(tidings_test_unpad(b, padded, &out));
      CHECK(same(&out, a, body));
      tidings_bytes_free(&out);
      pads++;
    } else if (strcmp(kind, "envelope") == 0) {
      /* envelope PADDED ENVELOPE BODY-NAME */
      size_t padded = unhex(word[0], a, CAP), env = unhex(word[1], b, CAP);
      OK(tidings_test_unpad(a, padded, &out));
      CHECK(same(&out, b, env));
      tidings_bytes_free(&out);
      OK(tidings_test_pad(b, env, &out));
      CHECK(same(&out, a, padded));
      tidings_bytes_free(&out);
      OK(tidings_test_envelope_body(b, env, &out));
      const char *name = strcmp(word[2], "-") == 0 ? "" : word[2];
      if (!same(&out, (const uint8_t *)name, strlen(name))) {
        fprintf(stderr, "envelope %d: expected body \"%s\", got \"%.*s\"\n",
                envelopes, name, (int)out.len, (const char *)out.data);
        exit(1);
      }
      tidings_bytes_free(&out);
      envelopes++;
    } else if (strcmp(kind, "packed") == 0) {
      /* packed PACKED ITEM */
      size_t packed = unhex(word[0], a, CAP), item = unhex(word[1], b, CAP);
      tidings_bytes_free(&last_item);
      OK(tidings_test_unpack(a, packed, &last_item));
      CHECK(same(&last_item, b, item));
      items++;
    } else if (strcmp(kind, "text") == 0) {
      /* text UTF-8-AS-HEX: found in the item of the last "packed" line */
      size_t n = unhex(word[0], a, CAP);
      CHECK(n > 0 && contains(&last_item, a, n));
      texts++;
    } else {
      fprintf(stderr, "unknown vector kind %s\n", kind);
      exit(1);
    }
  }
  fclose(f);
  tidings_bytes_free(&last_item);

  /* Wrong input is a typed error, never a crash. */
  tidings_bytes out = {NULL, 0};
  uint8_t junk[4] = {0xff, 0xff, 0xff, 0xff};
  CHECK(tidings_test_unpad(junk, sizeof junk, &out) != TIDINGS_OK);
  CHECK(tidings_test_unpack(junk, sizeof junk, &out) != TIDINGS_OK);
  CHECK(tidings_test_envelope_body(junk, sizeof junk, &out) != TIDINGS_OK);
  CHECK(out.data == NULL && out.len == 0);
  CHECK(tidings_test_pad(NULL, 1, &out) == TIDINGS_NULL_ARGUMENT);

  printf("vectors: %d envelopes, %d paddings, %d packed items, %d texts\n",
         envelopes, pads, items, texts);
  CHECK(envelopes > 20 && pads > 0 && items > 1 && texts >= 2);
  return 0;
}
