//! The reference async driver of a device's [`ClientSession`] over TCP: what
//! a handset app wraps around the sans-IO core. The examples, the demo and
//! the tests use it; the C and WASM clients follow the same loop.
//!
//! ```no_run
//! # async fn run(payload: &str) -> tidings::Result<()> {
//! use tidings_server::activation::Activation;
//! use tidings_server::client::Connection;
//!
//! let activation = Activation::parse(payload)?;
//! let mut phone = Connection::enroll(&activation, "Sam's phone").await?;
//! while let Some(event) = phone.next_event().await? {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```

use crate::activation::Activation;
use crate::clock::{now_ms, random};
use std::time::Duration;
use tidings::proto::operation;
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState};
use tidings::{Error, ErrorKind, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection of a device to its server.
pub struct Connection {
    stream: TcpStream,
    session: ClientSession,
    buf: Vec<u8>,
    sent: u64,
    received: u64,
}

fn io_error(e: std::io::Error) -> Error {
    tracing::debug!(error = %e, "connection failed");
    Error::new(ErrorKind::SessionClosed, "connection to the server failed")
}

impl Connection {
    /// Enrolls a new device (Noise XK) with the server named in `activation`.
    pub async fn enroll(activation: &Activation, device_name: &str) -> Result<Self> {
        Self::enroll_with(activation, device_name, ClientConfig::default()).await
    }

    /// [`enroll`](Self::enroll) with a client configuration.
    pub async fn enroll_with(
        activation: &Activation,
        device_name: &str,
        config: ClientConfig,
    ) -> Result<Self> {
        let state = ClientState::new(random(), activation.server_key);
        let session = ClientSession::enroll(
            config,
            state,
            &activation.code.display(),
            device_name,
            random(),
            now_ms(),
        )?;
        let tcp = activation.tcp.as_deref().ok_or(Error::new(
            ErrorKind::InvalidArgument,
            "the payload names no TCP endpoint",
        ))?;
        Self::connect(tcp, session).await
    }

    /// Reconnects an enrolled device (Noise IK) from a state kept only in
    /// memory (tests, benchmarks). A handset that stores its state uses
    /// [`resume_saving`](Self::resume_saving).
    pub async fn resume(addr: &str, state: ClientState) -> Result<Self> {
        Self::resume_saving(addr, state, |_| Ok(())).await
    }

    /// Reconnects an enrolled device (Noise IK) from its saved state.
    /// `save` must store the state durably, or fail: it is called before
    /// anything is sent, with the hello counter already advanced, so neither
    /// a crash nor a lost answer can make the device repeat a timestamp.
    pub async fn resume_saving(
        addr: &str,
        state: ClientState,
        save: impl FnOnce(&ClientState) -> Result<()>,
    ) -> Result<Self> {
        let mut session =
            ClientSession::resume(ClientConfig::default(), state, random(), now_ms())?;
        save(session.state())?;
        session.confirm_state_saved();
        Self::connect(addr, session).await
    }

    async fn connect(addr: &str, session: ClientSession) -> Result<Self> {
        let stream = TcpStream::connect(addr).await.map_err(io_error)?;
        let _ = stream.set_nodelay(true);
        let mut connection = Self {
            stream,
            session,
            buf: vec![0; 16 << 10],
            sent: 0,
            received: 0,
        };
        connection.flush().await?;
        Ok(connection)
    }

    /// The session (its state, replica and outbox).
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// Bytes sent and received on the wire so far.
    pub fn wire_bytes(&self) -> (u64, u64) {
        (self.sent, self.received)
    }

    async fn flush(&mut self) -> Result<()> {
        while let Some(bytes) = self.session.poll_transmit() {
            self.stream.write_all(&bytes).await.map_err(io_error)?;
            self.sent += bytes.len() as u64;
        }
        Ok(())
    }

    /// Drives the connection until the next event; `None` once the session
    /// has ended and every event was taken.
    pub async fn next_event(&mut self) -> Result<Option<ClientEvent>> {
        loop {
            if let Some(event) = self.session.poll_event() {
                return Ok(Some(event));
            }
            if self.session.is_closed() {
                return Ok(None);
            }
            let wait = self
                .session
                .poll_timeout()
                .map_or(Duration::from_secs(3600), |at| {
                    Duration::from_millis(at.saturating_sub(now_ms()))
                });
            tokio::select! {
                read = self.stream.read(&mut self.buf) => {
                    let n = read.map_err(io_error)?;
                    if n == 0 {
                        return Err(Error::new(ErrorKind::SessionClosed, "server closed the connection"));
                    }
                    self.received += n as u64;
                    // A session error is also reported as a Closed event.
                    let _ = self.session.handle_bytes(now_ms(), &self.buf[..n]);
                }
                () = tokio::time::sleep(wait) => {
                    let _ = self.session.handle_timeout(now_ms());
                }
            }
            self.flush().await?;
        }
    }

    /// Waits, at most `limit`, for an event `pick` accepts, and returns
    /// what it made of it; other events are dropped.
    pub async fn wait_for<T>(
        &mut self,
        limit: Duration,
        mut pick: impl FnMut(&ClientEvent) -> Option<T>,
    ) -> Result<T> {
        let wait = async {
            while let Some(event) = self.next_event().await? {
                if let Some(found) = pick(&event) {
                    return Ok(found);
                }
                if let ClientEvent::Closed { error } = event {
                    return Err(error.unwrap_or_else(|| ErrorKind::SessionClosed.into()));
                }
            }
            Err(ErrorKind::SessionClosed.into())
        };
        tokio::time::timeout(limit, wait)
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout, "no such event in time"))?
    }

    /// Sends an operation; its result arrives as
    /// [`ClientEvent::OperationResult`] with the returned op id.
    pub async fn submit(&mut self, kind: operation::Kind) -> Result<[u8; 16]> {
        let op_id = random();
        self.session.submit(now_ms(), op_id, kind)?;
        self.flush().await?;
        Ok(op_id)
    }

    /// Acknowledges a wipe (after erasing the device's data).
    pub async fn acknowledge_wipe(&mut self, wipe_id: u64) -> Result<()> {
        self.session.acknowledge_wipe(now_ms(), wipe_id)?;
        self.flush().await
    }

    /// Closes cleanly and returns the state to save.
    pub async fn close(mut self) -> Result<ClientState> {
        self.session.close(now_ms())?;
        self.flush().await?;
        let _ = self.stream.shutdown().await;
        Ok(self.session.state().clone())
    }
}
