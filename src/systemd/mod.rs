//! The systemd manager over D-Bus: connect, restart a unit and wait for its job, read unit states.
//!
//! Auto-update needs three things from systemd: restart a unit (`RestartUnit`, mode "replace"),
//! learn when that job is over and how it ended (`JobRemoved`), and read the unit's state afterwards.
//! [`Manager`] is that surface as a trait, so the decision logic in `autoupdate` is unit-tested with
//! a fake; [`DbusManager`] is the real thing (zbus 5 + systemd-zbus).
//!
//! Unit states are read as plain strings through `org.freedesktop.DBus.Properties.Get` on the unit
//! object: systemd-zbus' typed enums (and its typed `ListUnits`) fail to decode states that newer
//! systemd versions added, and a failed decode must never turn into a failed update.

mod p2p;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_lite::StreamExt;
use systemd_zbus::{ManagerProxy, Mode};
use zbus::zvariant::{OwnedObjectPath, OwnedValue};
use zbus::{Connection, MatchRule, MessageStream};

const SYSTEMD_SERVICE: &str = "org.freedesktop.systemd1";
const SYSTEMD_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER_IFACE: &str = "org.freedesktop.systemd1.Manager";
const UNIT_IFACE: &str = "org.freedesktop.systemd1.Unit";
const SERVICE_IFACE: &str = "org.freedesktop.systemd1.Service";
const PROPERTIES_IFACE: &str = "org.freedesktop.DBus.Properties";
const METHOD_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a restart job is looked for while its JobRemoved signal is awaited.
const JOB_POLL: Duration = Duration::from_secs(2);
/// The job result reported when the job was seen gone without its JobRemoved signal.
pub const JOB_RESULT_UNKNOWN: &str = "unknown";

/// Errors talking to the systemd manager; each names the unit or the addresses involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach the systemd {scope} manager; tried: {}", tried.join("; "))]
    Connect { scope: Scope, tried: Vec<String> },
    #[error("{method} {unit}: {source}")]
    Call {
        method: &'static str,
        unit: String,
        // Boxed: zbus::Error is large, and this error travels through every Result here.
        #[source]
        source: Box<zbus::Error>,
    },
    #[error("restart of {unit}: job {job} did not finish within {secs} s")]
    JobTimeout {
        unit: String,
        job: String,
        secs: u64,
    },
    #[error("restart of {unit}: the connection to systemd closed before job {job} finished")]
    JobStreamEnded { unit: String, job: String },
}

impl Error {
    /// A `map_err` adapter: D-Bus call `method` about `unit` failed.
    fn call<'a>(method: &'static str, unit: &'a str) -> impl FnOnce(zbus::Error) -> Error + 'a {
        move |source| Error::Call {
            method,
            unit: unit.to_string(),
            source: Box::new(source),
        }
    }
}

/// Which systemd manager a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// PID 1, for root's containers.
    System,
    /// The calling user's `systemd --user`, for rootless containers.
    User,
}

impl Scope {
    /// The manager that owns the caller's containers: root's are system units, everyone else's are
    /// user units (rootless Podman under `systemd --user`).
    pub fn of_current_user() -> Self {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            Scope::System
        } else {
            Scope::User
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scope::System => "system",
            Scope::User => "user",
        })
    }
}

/// How a job ended: systemd's `JobRemoved` result string ("done", "failed", "timeout", "canceled",
/// "dependency", "skipped", ...), kept as a string for the same reason unit states are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub job: String,
    pub result: String,
}

/// A unit's state as systemd reports it, as strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitStatus {
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    /// The service's `Result` ("success", "exit-code", ...); empty for units that are not services.
    pub result: String,
    /// Hex of `InvocationID`: changes each time the unit is started, so a unit that crashed and was
    /// restarted by its own `Restart=` between two looks is still noticed.
    pub invocation_id: String,
}

impl UnitStatus {
    pub fn is_active(&self) -> bool {
        self.active_state == "active"
    }
}

impl std::fmt::Display for UnitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.active_state, self.sub_state)?;
        if !self.result.is_empty() && self.result != "success" {
            write!(f, " (result {})", self.result)?;
        }
        if self.load_state != "loaded" && !self.load_state.is_empty() {
            write!(f, " (load state {})", self.load_state)?;
        }
        Ok(())
    }
}

/// What auto-update needs from a service manager.
pub trait Manager {
    /// Restart `unit` (mode "replace") and wait until systemd has finished the job.
    fn restart(&self, unit: &str) -> Result<JobOutcome, Error>;
    /// The unit's current state.
    fn status(&self, unit: &str) -> Result<UnitStatus, Error>;
    /// How the manager is reached, for the report (e.g. the bus address).
    fn describe(&self) -> String {
        String::new()
    }
}

/// One way to reach a manager: a bus address, or the manager's private peer-to-peer socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: String,
    /// Peer-to-peer: systemd's private socket speaks D-Bus without a bus daemon, so there is no
    /// `Hello` and no name resolution.
    pub p2p: bool,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.p2p {
            write!(f, "{} (private socket)", self.address)
        } else {
            f.write_str(&self.address)
        }
    }
}

/// The environment the endpoints are derived from; a value so that tests need not touch the
/// process environment.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub session_bus: Option<String>,
    pub system_bus: Option<String>,
    pub runtime_dir: Option<PathBuf>,
    pub uid: u32,
}

impl Env {
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Env {
            session_bus: var("DBUS_SESSION_BUS_ADDRESS"),
            system_bus: var("DBUS_SYSTEM_BUS_ADDRESS"),
            runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
            // SAFETY: getuid has no preconditions and cannot fail.
            uid: unsafe { libc::getuid() },
        }
    }
}

/// Where to look for the manager, in order. `exists` says whether a socket path is there; sockets
/// that are not are skipped (but an explicit `$DBUS_*_BUS_ADDRESS` is always tried).
pub fn endpoints(scope: Scope, env: &Env, exists: impl Fn(&Path) -> bool) -> Vec<Endpoint> {
    let mut out = Vec::new();
    let mut push = |address: String, p2p: bool| {
        if !out.iter().any(|e: &Endpoint| e.address == address) {
            out.push(Endpoint { address, p2p });
        }
    };
    match scope {
        Scope::System => {
            if let Some(a) = &env.system_bus {
                push(a.clone(), false);
            }
            let sock = Path::new("/run/dbus/system_bus_socket");
            if exists(sock) {
                push(format!("unix:path={}", sock.display()), false);
            }
            let private = Path::new("/run/systemd/private");
            if exists(private) {
                push(format!("unix:path={}", private.display()), true);
            }
        }
        Scope::User => {
            if let Some(a) = &env.session_bus {
                push(a.clone(), false);
            }
            let rt = env
                .runtime_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("/run/user/{}", env.uid)));
            let bus = rt.join("bus");
            if exists(&bus) {
                push(format!("unix:path={}", bus.display()), false);
            }
            let private = rt.join("systemd/private");
            if exists(&private) {
                push(format!("unix:path={}", private.display()), true);
            }
        }
    }
    out
}

/// A connection to a systemd manager over D-Bus.
pub struct DbusManager {
    conn: Connection,
    endpoint: Endpoint,
    job_timeout: Duration,
}

impl DbusManager {
    /// Connect to the manager of `scope`, trying each endpoint in turn. A bus is accepted only if
    /// systemd answers on it: a session bus can run without the user manager being on it.
    pub fn connect(scope: Scope, job_timeout: Duration) -> Result<Self, Error> {
        let env = Env::from_process();
        let candidates = endpoints(scope, &env, |p| p.exists());
        let mut tried = Vec::new();
        for endpoint in candidates {
            match async_io::block_on(open(&endpoint)) {
                Ok(conn) => {
                    return Ok(DbusManager {
                        conn,
                        endpoint,
                        job_timeout,
                    })
                }
                Err(e) => tried.push(format!("{endpoint}: {e}")),
            }
        }
        if tried.is_empty() {
            tried.push("no bus address and no private socket found".into());
        }
        Err(Error::Connect { scope, tried })
    }

    /// The endpoint in use, for the report.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Moves running processes into a new transient scope unit `name` (`StartTransientUnit` with
    /// `PIDs=`), so that they outlive the unit whose cgroup they were started in.
    pub fn start_scope(&self, name: &str, description: &str, pids: &[u32]) -> Result<(), Error> {
        let properties: Vec<(&str, zbus::zvariant::Value<'_>)> = vec![
            ("Description", description.into()),
            ("PIDs", pids.to_vec().into()),
        ];
        let aux: Vec<(&str, Vec<(&str, zbus::zvariant::Value<'_>)>)> = Vec::new();
        async_io::block_on(self.conn.call_method(
            Some(SYSTEMD_SERVICE),
            SYSTEMD_PATH,
            Some(MANAGER_IFACE),
            "StartTransientUnit",
            &(name, "fail", properties, aux),
        ))
        .map(drop)
        .map_err(Error::call("StartTransientUnit", name))
    }

    async fn restart_async(&self, unit: &str) -> Result<JobOutcome, Error> {
        let call = |method: &'static str| Error::call(method, unit);
        let manager = ManagerProxy::new(&self.conn)
            .await
            .map_err(call("RestartUnit"))?;
        // Listen before asking: a quick job can be over before RestartUnit's reply is read.
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .path(SYSTEMD_PATH)
            .and_then(|b| b.interface(MANAGER_IFACE))
            .and_then(|b| b.member("JobRemoved"))
            .map_err(call("JobRemoved"))?
            .build();
        let mut removed = MessageStream::for_match_rule(rule, &self.conn, None)
            .await
            .map_err(call("JobRemoved"))?;
        // Without a subscription systemd emits no signals on the bus (the private socket always
        // gets them; subscribing there is harmless).
        // A second restart on the same connection is already subscribed; that is not an error.
        match manager.subscribe().await {
            Err(zbus::Error::MethodError(name, _, _))
                if name.as_str() == "org.freedesktop.systemd1.AlreadySubscribed" => {}
            other => other.map_err(call("Subscribe"))?,
        }
        let job = manager
            .restart_unit(unit, Mode::Replace)
            .await
            .map_err(call("RestartUnit"))?;
        let job_str = job.as_str().to_string();
        let wait = async {
            while let Some(msg) = removed.next().await {
                let Ok(msg) = msg else { continue };
                let body = msg.body();
                let Ok((_, path, _, result)) =
                    body.deserialize::<(u32, OwnedObjectPath, String, String)>()
                else {
                    continue;
                };
                if path == job {
                    return Ok(JobOutcome {
                        job: job_str.clone(),
                        result,
                    });
                }
            }
            Err(Error::JobStreamEnded {
                unit: unit.to_string(),
                job: job_str.clone(),
            })
        };
        // Should the signal never come (a bus that drops it), the job object's disappearance
        // still ends the wait; the result is then unknown and the unit's state decides.
        let poll = async {
            loop {
                async_io::Timer::after(JOB_POLL).await;
                if !self.job_exists(&job).await {
                    return Ok(JobOutcome {
                        job: job_str.clone(),
                        result: JOB_RESULT_UNKNOWN.to_string(),
                    });
                }
            }
        };
        let timeout = async {
            async_io::Timer::after(self.job_timeout).await;
            Err(Error::JobTimeout {
                unit: unit.to_string(),
                job: job_str.clone(),
                secs: self.job_timeout.as_secs(),
            })
        };
        futures_lite::future::or(futures_lite::future::or(wait, poll), timeout).await
    }

    /// Whether systemd still has the job object; only "no such object/job" answers count as gone.
    async fn job_exists(&self, job: &OwnedObjectPath) -> bool {
        let reply = self
            .conn
            .call_method(
                Some(SYSTEMD_SERVICE),
                job.as_str(),
                Some(PROPERTIES_IFACE),
                "Get",
                &("org.freedesktop.systemd1.Job", "State"),
            )
            .await;
        match reply {
            Err(zbus::Error::MethodError(name, _, _)) => !matches!(
                name.as_str(),
                "org.freedesktop.DBus.Error.UnknownObject"
                    | "org.freedesktop.DBus.Error.UnknownMethod"
                    | "org.freedesktop.systemd1.NoSuchJob"
            ),
            _ => true,
        }
    }

    async fn status_async(&self, unit: &str) -> Result<UnitStatus, Error> {
        let err = |method: &'static str| Error::call(method, unit);
        let manager = ManagerProxy::new(&self.conn)
            .await
            .map_err(err("LoadUnit"))?;
        // LoadUnit, not GetUnit: a unit that is not loaded yet still has a state to report.
        let path = manager.load_unit(unit).await.map_err(err("LoadUnit"))?;
        let get = |iface: &'static str, name: &'static str| {
            let path = path.clone();
            async move {
                let reply = self
                    .conn
                    .call_method(
                        Some(SYSTEMD_SERVICE),
                        path.as_str(),
                        Some(PROPERTIES_IFACE),
                        "Get",
                        &(iface, name),
                    )
                    .await?;
                reply.body().deserialize::<OwnedValue>()
            }
        };
        let string = |v: OwnedValue| String::try_from(v).unwrap_or_default();
        let load_state = string(get(UNIT_IFACE, "LoadState").await.map_err(err("Get"))?);
        let active_state = string(get(UNIT_IFACE, "ActiveState").await.map_err(err("Get"))?);
        let sub_state = string(get(UNIT_IFACE, "SubState").await.map_err(err("Get"))?);
        let invocation_id = get(UNIT_IFACE, "InvocationID")
            .await
            .ok()
            .and_then(|v| Vec::<u8>::try_from(v).ok())
            .map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default();
        // Only services have a Result; other unit types answer with an error, which is fine.
        let result = if unit.ends_with(".service") {
            get(SERVICE_IFACE, "Result")
                .await
                .ok()
                .map(string)
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(UnitStatus {
            load_state,
            active_state,
            sub_state,
            result,
            invocation_id,
        })
    }
}

impl Manager for DbusManager {
    fn restart(&self, unit: &str) -> Result<JobOutcome, Error> {
        async_io::block_on(self.restart_async(unit))
    }

    fn status(&self, unit: &str) -> Result<UnitStatus, Error> {
        async_io::block_on(self.status_async(unit))
    }

    fn describe(&self) -> String {
        self.endpoint.to_string()
    }
}

/// Open a connection and check that systemd answers on it (reads the manager's `Version`).
async fn open(endpoint: &Endpoint) -> Result<Connection, zbus::Error> {
    let builder = if endpoint.p2p {
        // Only socket paths we found ourselves are peer-to-peer endpoints.
        let path = endpoint
            .address
            .strip_prefix("unix:path=")
            .unwrap_or(&endpoint.address);
        let stream =
            p2p::connect(Path::new(path)).map_err(|e| zbus::Error::InputOutput(e.into()))?;
        zbus::connection::Builder::async_io_unix_stream(stream).p2p()
    } else {
        zbus::connection::Builder::address(endpoint.address.as_str())?
    };
    // No call may hang the run: a method call that gets no answer fails after this long.
    let conn = builder.method_timeout(METHOD_TIMEOUT).build().await?;
    conn.call_method(
        Some(SYSTEMD_SERVICE),
        SYSTEMD_PATH,
        Some(PROPERTIES_IFACE),
        "Get",
        &(MANAGER_IFACE, "Version"),
    )
    .await?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(rt: &str) -> Env {
        Env {
            session_bus: None,
            system_bus: None,
            runtime_dir: Some(PathBuf::from(rt)),
            uid: 1001,
        }
    }

    #[test]
    fn user_scope_tries_bus_then_private_socket() {
        let eps = endpoints(Scope::User, &env("/run/user/1001"), |_| true);
        assert_eq!(
            eps,
            vec![
                Endpoint {
                    address: "unix:path=/run/user/1001/bus".into(),
                    p2p: false
                },
                Endpoint {
                    address: "unix:path=/run/user/1001/systemd/private".into(),
                    p2p: true
                },
            ]
        );
    }

    #[test]
    fn user_scope_without_bus_uses_private_socket_only() {
        let eps = endpoints(Scope::User, &env("/rt"), |p| p.ends_with("private"));
        assert_eq!(eps.len(), 1);
        assert!(eps[0].p2p);
        assert_eq!(eps[0].address, "unix:path=/rt/systemd/private");
    }

    #[test]
    fn session_bus_variable_comes_first_and_is_not_repeated() {
        let mut e = env("/rt");
        e.session_bus = Some("unix:path=/rt/bus".into());
        let eps = endpoints(Scope::User, &e, |_| true);
        assert_eq!(eps[0].address, "unix:path=/rt/bus");
        assert_eq!(eps.len(), 2, "{eps:?}");
    }

    #[test]
    fn missing_runtime_dir_falls_back_to_run_user_uid() {
        let mut e = env("/x");
        e.runtime_dir = None;
        let eps = endpoints(Scope::User, &e, |_| true);
        assert_eq!(eps[0].address, "unix:path=/run/user/1001/bus");
    }

    #[test]
    fn system_scope_uses_system_bus_then_pid1_private_socket() {
        let eps = endpoints(Scope::System, &env("/rt"), |_| true);
        assert_eq!(eps[0].address, "unix:path=/run/dbus/system_bus_socket");
        assert!(!eps[0].p2p);
        assert_eq!(eps[1].address, "unix:path=/run/systemd/private");
        assert!(eps[1].p2p);
        assert!(endpoints(Scope::System, &env("/rt"), |_| false).is_empty());
    }

    #[test]
    fn status_display_names_state_and_failure() {
        let s = UnitStatus {
            load_state: "loaded".into(),
            active_state: "failed".into(),
            sub_state: "failed".into(),
            result: "exit-code".into(),
            invocation_id: String::new(),
        };
        assert_eq!(s.to_string(), "failed/failed (result exit-code)");
        assert!(!s.is_active());
    }
}
