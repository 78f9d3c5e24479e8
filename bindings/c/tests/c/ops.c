/* Operations from C: flags, invitations, conflicts, ranges, search. */
#include "common.h"

static const char MAIL[] =
    "From: clerk@town.example\r\nTo: chief@town.example\r\n"
    "Subject: Agenda for Thursday\r\n\r\n"
    "Item one: the harbour. Item two: the budget. Item three: any other "
    "business.\r\n";

int main(void) {
  tidings_test_town t;
  tidings_test_server *server = town(&t);
  uint64_t mail = 0, meeting = 0;
  OK(tidings_test_server_add_mail(server, t.chief_inbox, LIT(MAIL), &mail));
  OK(tidings_test_server_add_meeting(server, t.mayor_calendar,
                                     LIT("Harbour board"),
                                     LIT("mayor@town.example"), &meeting));
  size_t chief_conn = 0, mayor_conn = 0;
  tidings_client *chief = enroll(server, t.chief, 7, 1000, &chief_conn);
  tidings_client *mayor = enroll(server, t.mayor, 9, 1000, &mayor_conn);
  uint8_t op[16];
  tidings_event *event = NULL;
  tidings_item *item = NULL;

  /* Flag a message: the answer is DONE and the replica shows the flag. */
  fill(op, 16, 1);
  OK(tidings_client_set_flags(chief, 2000, op, 16, t.chief_inbox, &mail, 1,
                              2 /* flagged */, 0));
  event = answer(server, chief_conn, chief, 2000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  tidings_event_free(event);
  OK(tidings_test_server_push(server, 2000));
  pump(server, chief_conn, chief, 2000);
  OK(tidings_client_item(chief, t.chief_inbox, mail, &item));
  CHECK(tidings_item_flags(item) & 2);
  tidings_item_free(item);

  /* The mayor accepts; the chief's device (a delegate) sees it. */
  fill(op, 16, 2);
  OK(tidings_client_respond(mayor, 3000, op, 16, t.mayor_calendar, meeting,
                            2 /* accepted */, LIT("")));
  event = answer(server, mayor_conn, mayor, 3000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  CHECK(tidings_event_version(event) == 2);
  tidings_event_free(event);
  OK(tidings_test_server_push(server, 3000));
  pump(server, chief_conn, chief, 3000);
  int32_t status = 0;
  OK(tidings_client_item(chief, t.mayor_calendar, meeting, &item));
  OK(tidings_item_attendee_status(item, LIT("mayor@town.example"), &status));
  CHECK(status == 2 && tidings_item_version(item) == 2);

  /* The mayor edits at version 2; the chief's later edit of version 2
   * conflicts and is told the current version. */
  tidings_bytes encoded = {NULL, 0};
  OK(tidings_item_encoded(item, &encoded));
  tidings_item_free(item);
  fill(op, 16, 3);
  OK(tidings_client_update_event(mayor, 4000, op, 16, t.mayor_calendar,
                                 encoded.data, encoded.len, 2));
  event = answer(server, mayor_conn, mayor, 4000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  tidings_event_free(event);
  fill(op, 16, 4);
  OK(tidings_client_update_event(chief, 4001, op, 16, t.mayor_calendar,
                                 encoded.data, encoded.len, 2));
  event = answer(server, chief_conn, chief, 4001, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_CONFLICT);
  CHECK(tidings_event_version(event) == 3);
  tidings_event_free(event);
  tidings_bytes_free(&encoded);

  /* A body range, resumable from any offset: the part id and size come
   * from the replica's item. */
  uint32_t part = 0;
  uint64_t part_size = 0;
  OK(tidings_client_item(chief, t.chief_inbox, mail, &item));
  CHECK(tidings_item_part_count(item, false) == 1);
  CHECK(tidings_item_part_count(item, true) == 0);
  OK(tidings_item_part(item, false, 0, &part, &part_size));
  CHECK(tidings_item_part(item, true, 0, &part, &part_size) == TIDINGS_INVALID_ARGUMENT);
  tidings_item_free(item);
  fill(op, 16, 5);
  OK(tidings_client_fetch_range(chief, 5000, op, 16, t.chief_inbox, mail, part,
                                false, 5, 10));
  event = answer(server, chief_conn, chief, 5000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_RANGE);
  uint64_t offset = 0, total = 0;
  tidings_bytes data = {NULL, 0};
  OK(tidings_event_range(event, &offset, &total, &data));
  CHECK(offset == 5 && data.len == 10 && total == part_size);
  CHECK(memcmp(data.data, "one: the h", 10) == 0);
  tidings_bytes_free(&data);
  tidings_event_free(event);

  /* Server-side search. */
  fill(op, 16, 6);
  OK(tidings_client_search(chief, 6000, op, 16, LIT("agenda"), 10));
  event = answer(server, chief_conn, chief, 6000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_SEARCH);
  CHECK(tidings_event_search_hit_count(event) == 1);
  uint64_t folder = 0, hit = 0;
  OK(tidings_event_search_hit(event, 0, &folder, &hit));
  CHECK(folder == t.chief_inbox && hit == mail);
  tidings_event_free(event);

  /* Moving mail into a folder without write rights is refused with a code. */
  fill(op, 16, 8);
  OK(tidings_client_move(chief, 6500, op, 16, t.chief_inbox, &mail, 1,
                         t.mayor_inbox));
  event = answer(server, chief_conn, chief, 6500, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_ERROR);
  CHECK(tidings_result_description(tidings_event_error(event)) != NULL);
  tidings_event_free(event);

  /* Delete. */
  fill(op, 16, 7);
  OK(tidings_client_delete(chief, 7000, op, 16, t.chief_inbox, &mail, 1));
  event = answer(server, chief_conn, chief, 7000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  tidings_event_free(event);

  /* Create an event (a copy of the meeting) in the chief's calendar; a
   * delete at a stale version conflicts, at the right one it is done. */
  OK(tidings_client_item(chief, t.mayor_calendar, meeting, &item));
  OK(tidings_item_encoded(item, &encoded));
  tidings_item_free(item);
  fill(op, 16, 9);
  OK(tidings_client_create_event(chief, 8000, op, 16, t.chief_calendar,
                                 encoded.data, encoded.len));
  tidings_bytes_free(&encoded);
  event = answer(server, chief_conn, chief, 8000, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  uint64_t created = tidings_event_id(event), version = tidings_event_version(event);
  CHECK(created != 0 && created != meeting && version != 0);
  tidings_event_free(event);
  fill(op, 16, 10);
  OK(tidings_client_delete_event(chief, 8001, op, 16, t.chief_calendar, created,
                                 version + 5));
  event = answer(server, chief_conn, chief, 8001, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_CONFLICT);
  CHECK(tidings_event_version(event) == version);
  tidings_event_free(event);
  fill(op, 16, 11);
  OK(tidings_client_delete_event(chief, 8002, op, 16, t.chief_calendar, created,
                                 version));
  event = answer(server, chief_conn, chief, 8002, op);
  CHECK(tidings_event_outcome(event) == TIDINGS_OUTCOME_DONE);
  tidings_event_free(event);

  /* Any operation as protobuf bytes: Operation{op_id, delete_items{
   * collection_id, item_ids}}, encoded by hand (ids below 128). */
  CHECK(t.chief_inbox < 128 && mail < 128);
  uint8_t wire[] = {0x0a, 16, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
                    12,   12, 12, 12, 0x22, 5, 0x08, (uint8_t)t.chief_inbox,
                    0x12, 1,  (uint8_t)mail};
  OK(tidings_client_submit_encoded(chief, 9000, wire, sizeof wire));
  fill(op, 16, 12);
  event = answer(server, chief_conn, chief, 9000, op);
  CHECK(tidings_event_outcome(event) != TIDINGS_OUTCOME_NONE);
  tidings_bytes result = {NULL, 0};
  OK(tidings_event_encoded(event, &result));
  CHECK(result.len > 16);
  tidings_bytes_free(&result);
  tidings_event_free(event);

  tidings_client_free(chief);
  tidings_client_free(mayor);
  tidings_test_server_free(server);
  puts("ops: ok");
  return 0;
}
