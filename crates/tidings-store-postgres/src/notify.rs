//! Change notification across server processes: `LISTEN`/`NOTIFY`.
//!
//! The schema's triggers announce every change a connected device must hear
//! of on [`CHANNEL`], from inside the writing transaction; PostgreSQL
//! delivers them when it commits, in commit order, and never for a rollback.
//! A [`Listener`] holds its own connection and turns them into [`Notice`]s.
//! When that connection fails it connects again and says so
//! ([`Notice::Reconnected`]): notices sent meanwhile are lost, so the server
//! then compares every head ([`PostgresStore::heads`]) and rereads its
//! devices, as it does at start-up.
//!
//! [`PostgresStore::heads`]: crate::PostgresStore::heads

use crate::{config, connect_client};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tidings::store::WipeState;
use tidings::sync::LogHead;
use tidings::{Error, ErrorKind, Result};

/// The channel the schema's triggers notify on.
pub const CHANNEL: &str = "tidings";

/// How long the connection may stay silent before the listener checks it
/// (a half-open TCP connection delivers nothing and reports nothing).
const PING_AFTER: Duration = Duration::from_secs(30);

/// An order an administrator gave for a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceOrder {
    /// The device was revoked: end its sessions.
    Revoked,
    /// A wipe was ordered ([`WipeState::Pending`]) or confirmed.
    Wipe(WipeState),
    /// The device's policy changed: send it again.
    Policy,
}

/// A change made by some process, committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A collection's head moved (or the collection is new): push deltas to
    /// the devices that follow it.
    Collection(LogHead),
    /// A device was revoked, or its wipe state or policy changed.
    Device {
        /// The device.
        device: u64,
        /// What was ordered.
        order: DeviceOrder,
    },
    /// The delegation of `collection` to `principal` changed: that
    /// principal's devices get a new collection list.
    Grants {
        /// The delegate.
        principal: u64,
        /// The collection.
        collection: u64,
    },
    /// The listening connection was lost and is back: notices may have been
    /// missed, so compare every head and reread devices.
    Reconnected,
}

fn number(word: Option<&str>) -> Option<u64> {
    word?.parse::<i64>().ok().map(crate::conn::from_sql)
}

/// A u64 as the database stores and prints it (signed, bit for bit).
fn signed(v: u64) -> i64 {
    crate::conn::to_sql(v)
}

impl Notice {
    /// Reads a payload as the schema's triggers write it; anything else on
    /// the channel (a hand-written `NOTIFY`) is not a notice.
    pub fn from_payload(payload: &str) -> Option<Notice> {
        parse(payload)
    }

    /// The payload the triggers send for this notice, in the same format
    /// (for a process that notifies by hand); [`Notice::Reconnected`] has none.
    pub fn to_payload(&self) -> Option<String> {
        Some(match *self {
            Notice::Collection(head) => format!(
                "collection {} {} {} {}",
                signed(head.collection_id),
                signed(head.epoch),
                signed(head.modseq),
                signed(head.floor)
            ),
            Notice::Grants {
                principal,
                collection,
            } => format!("grants {} {}", signed(principal), signed(collection)),
            Notice::Device {
                device,
                order: DeviceOrder::Revoked,
            } => format!("device {} revoked", signed(device)),
            Notice::Device {
                device,
                order: DeviceOrder::Policy,
            } => format!("device {} policy", signed(device)),
            Notice::Device {
                device,
                order: DeviceOrder::Wipe(wipe),
            } => {
                let (state, id) = match wipe {
                    WipeState::None => (0, 0),
                    WipeState::Pending(id) => (1, id),
                    WipeState::Done(id) => (2, id),
                };
                format!("device {} wipe {state} {}", signed(device), signed(id))
            }
            Notice::Reconnected => return None,
        })
    }
}

fn parse(payload: &str) -> Option<Notice> {
    let mut words = payload.split(' ');
    let notice = match words.next()? {
        "collection" => Notice::Collection(LogHead {
            collection_id: number(words.next())?,
            epoch: number(words.next())?,
            modseq: number(words.next())?,
            floor: number(words.next())?,
        }),
        "grants" => Notice::Grants {
            principal: number(words.next())?,
            collection: number(words.next())?,
        },
        "device" => {
            let device = number(words.next())?;
            let order = match words.next()? {
                "revoked" => DeviceOrder::Revoked,
                "policy" => DeviceOrder::Policy,
                "wipe" => {
                    let state = number(words.next())?;
                    let id = number(words.next())?;
                    DeviceOrder::Wipe(match state {
                        0 => WipeState::None,
                        1 => WipeState::Pending(id),
                        2 => WipeState::Done(id),
                        _ => return None,
                    })
                }
                _ => return None,
            };
            Notice::Device { device, order }
        }
        _ => return None,
    };
    words.next().is_none().then_some(notice)
}

/// The notice in `notification`, if it is one of ours.
fn ours(notification: &postgres::Notification) -> Option<Notice> {
    if notification.channel() != CHANNEL {
        return None;
    }
    parse(notification.payload())
}

/// Hears the changes every process commits to one database.
pub struct Listener {
    config: Config,
    client: Option<Client>,
    pending: VecDeque<Notice>,
    last_heard: Instant,
}

impl core::fmt::Debug for Listener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Listener")
            .field("connected", &self.client.is_some())
            .field("pending", &self.pending.len())
            .finish()
    }
}

fn listen(config: &Config) -> Result<Client> {
    let mut client = connect_client(config)?;
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .map_err(crate::conn::storage)?;
    Ok(client)
}

impl Listener {
    /// Connects to the database at `url` and starts listening. Only what
    /// commits after this returns is heard.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_with(config(url, "tidings-listener")?)
    }

    /// [`connect`](Self::connect) with a prepared [`Config`].
    pub fn connect_with(config: Config) -> Result<Self> {
        let client = listen(&config)?;
        Ok(Self {
            config,
            client: Some(client),
            pending: VecDeque::new(),
            last_heard: Instant::now(),
        })
    }

    /// The next notice, waiting at most `timeout`; `None` if none came.
    ///
    /// A lost connection is connected again here: success is reported as
    /// [`Notice::Reconnected`], failure as an error (the next call tries
    /// again; pause between calls). Blocks the thread: call it from one
    /// that may block.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Notice>> {
        if let Some(notice) = self.pending.pop_front() {
            return Ok(Some(notice));
        }
        let Some(client) = self.client.as_mut() else {
            return self.reconnect();
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let heard = client.notifications().timeout_iter(left).next();
            match heard {
                Ok(Some(notification)) => {
                    self.last_heard = Instant::now();
                    let Some(notice) = ours(&notification) else {
                        continue;
                    };
                    // Take whatever else already arrived, in order.
                    let mut arrived = client.notifications();
                    let mut more = arrived.iter();
                    while let Ok(Some(n)) = more.next() {
                        self.pending.extend(ours(&n));
                    }
                    return Ok(Some(notice));
                }
                Ok(None) => {
                    if client.is_closed() {
                        break;
                    }
                    if self.last_heard.elapsed() >= PING_AFTER {
                        if client.batch_execute("").is_err() {
                            break;
                        }
                        self.last_heard = Instant::now();
                    }
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "notification connection lost");
                    break;
                }
            }
        }
        self.client = None;
        self.reconnect()
    }

    fn reconnect(&mut self) -> Result<Option<Notice>> {
        match listen(&self.config) {
            Ok(client) => {
                self.client = Some(client);
                self.last_heard = Instant::now();
                Ok(Some(Notice::Reconnected))
            }
            Err(_) => Err(Error::new(
                ErrorKind::Storage,
                "notification connection lost; reconnecting failed",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn notice() -> impl Strategy<Value = Notice> {
        let wipe = prop_oneof![
            Just(WipeState::None),
            any::<u64>().prop_map(WipeState::Pending),
            any::<u64>().prop_map(WipeState::Done),
        ];
        prop_oneof![
            any::<[u64; 4]>().prop_map(|[collection_id, epoch, modseq, floor]| {
                Notice::Collection(LogHead {
                    collection_id,
                    epoch,
                    modseq,
                    floor,
                })
            }),
            any::<[u64; 2]>().prop_map(|[principal, collection]| Notice::Grants {
                principal,
                collection
            }),
            any::<u64>().prop_map(|device| Notice::Device {
                device,
                order: DeviceOrder::Revoked
            }),
            (any::<u64>(), wipe).prop_map(|(device, wipe)| Notice::Device {
                device,
                order: DeviceOrder::Wipe(wipe)
            }),
        ]
    }

    proptest! {
        #[test]
        fn payloads_round_trip(notice in notice()) {
            let payload = notice.to_payload().expect("a payload");
            prop_assert_eq!(Notice::from_payload(&payload), Some(notice));
        }

        #[test]
        fn any_payload_is_a_notice_or_nothing(payload in ".{0,64}") {
            // Never panics; whatever it reads prints back the same way.
            if let Some(notice) = Notice::from_payload(&payload) {
                let again = notice.to_payload().expect("a payload");
                prop_assert_eq!(Notice::from_payload(&again), Some(notice));
            }
        }
    }

    #[test]
    fn reconnected_has_no_payload() {
        assert_eq!(Notice::Reconnected.to_payload(), None);
    }

    #[test]
    fn payloads_parse_and_strangers_are_ignored() {
        assert_eq!(
            parse("collection 5 1 9 2"),
            Some(Notice::Collection(LogHead {
                collection_id: 5,
                epoch: 1,
                modseq: 9,
                floor: 2
            }))
        );
        assert_eq!(
            parse("device -1 revoked"),
            Some(Notice::Device {
                device: u64::MAX,
                order: DeviceOrder::Revoked
            }),
            "u64 stored bit for bit"
        );
        assert_eq!(
            parse("device 3 wipe 1 7"),
            Some(Notice::Device {
                device: 3,
                order: DeviceOrder::Wipe(WipeState::Pending(7))
            })
        );
        assert_eq!(
            parse("grants 2 4"),
            Some(Notice::Grants {
                principal: 2,
                collection: 4
            })
        );
        for stranger in [
            "",
            "collection",
            "collection 1 2 3",
            "collection 1 2 3 4 5",
            "device 3 wipe 9 7",
            "device x revoked",
            "hello",
        ] {
            assert_eq!(parse(stranger), None, "{stranger:?}");
        }
    }
}
