"""Prints the UTC instants the Rust tests expect, computed by Python.

Usage: python3 crosscheck.py  (icalendar 7.3.2, python-dateutil 2.9, zoneinfo)
"""
import pathlib, datetime as dt, zoneinfo
import icalendar
from dateutil.rrule import rrulestr

TESTS = pathlib.Path(icalendar.__file__).parent / "tests" / "calendars"
UTC = dt.timezone.utc

def stamp(d):
    return int(d.astimezone(UTC).timestamp())

# 1. VTIMEZONE offsets: icalendar's own reading of each VTIMEZONE, and zoneinfo.
LOCALS = ["19750301T120000", "19860427T013000", "20061029T013000", "20140829T080000",
          "20150118T013000", "20150118T023000", "20151025T023000", "20260329T023000",
          "20261025T023000", "20261101T013000", "20270314T023000"]
for name, iana in [("america_new_york.ics", "America/New_York"),
                   ("pacific_fiji.ics", "Pacific/Fiji"),
                   ("timezone_rdate.ics", "Europe/Vaduz")]:
    cal = icalendar.Calendar.from_ical((TESTS / name).read_bytes())
    tz = cal.walk("VTIMEZONE")[0].to_tz()
    zi = zoneinfo.ZoneInfo(iana)
    for v in LOCALS:
        naive = dt.datetime.strptime(v, "%Y%m%dT%H%M%S")
        print(name, v, stamp(naive.replace(tzinfo=tz)), stamp(naive.replace(tzinfo=zi)))

# 2. RFC 7265 appendix example 2: DAILY;COUNT=5 + RDATE PERIOD + one moved instance.
cal = icalendar.Calendar.from_ical((TESTS / "rfc_7265_appendix_example_2_ical.ics").read_bytes())
master, moved = cal.walk("VEVENT")
start = master["DTSTART"].dt
rule = rrulestr(master["RRULE"].to_ical().decode(), dtstart=start)
starts = [d for d in rule if d != moved["RECURRENCE-ID"].dt]
spans = [(stamp(d), stamp(d + master["DURATION"].dt)) for d in starts]
for p in master["RDATE"].dts:
    s, length = p.dt
    spans.append((stamp(s), stamp(s + length)))
spans.append((stamp(moved["DTSTART"].dt), stamp(moved["DTSTART"].dt + moved["DURATION"].dt)))
print("rfc7265", sorted(spans))

# 3. Weekly series with five EXDATEs in Europe/Vienna (no VTIMEZONE in the
#    file: icalendar generates one from zoneinfo, which the Rust test embeds).
ev = icalendar.Event.from_ical((TESTS.parent / "events" / "event_with_recurrence_exdates_on_different_lines.ics").read_bytes())
start, end = ev["DTSTART"].dt, ev["DTEND"].dt
ex = {d.dt for e in ev["EXDATE"] for d in e.dts}
rule = rrulestr(ev["RRULE"].to_ical().decode(), dtstart=start)
print("vienna", [(stamp(d), stamp(d + (end - start))) for d in rule if d not in ex])
vtz = icalendar.Timezone.from_tzid("Europe/Vienna", first_date=dt.date(2011, 1, 1), last_date=dt.date(2013, 1, 1))
print(vtz.to_ical().decode().replace("\r\n", "\\r\\n"))
