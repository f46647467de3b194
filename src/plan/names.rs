//! The names quadplay and Podman agree on, spelled once: labels every object carries, the
//! labels auto-update reads, and the annotations quadplay gives meaning to.

/// Label put on every pod, container, volume and network a run creates: the owning unit.
pub const LABEL_UNIT: &str = "io.quadplay.unit";
/// Label on every pod: a digest of its effective spec (the pod plan, and the ConfigMap/Secret
/// contents and Podman secrets it uses). `systemctl reload` and `play --dry-run` compare it with
/// the new plan's to replace only the pods whose spec changed.
pub const LABEL_SPEC_DIGEST: &str = "io.quadplay.spec-digest";
/// Label carrying the app identity (unit name, or a hash of the YAML paths outside systemd).
pub const LABEL_APP: &str = "io.quadplay.app";
/// Label Podman's and quadplay's auto-update read to restart a container's unit.
pub const LABEL_SYSTEMD_UNIT: &str = "PODMAN_SYSTEMD_UNIT";
/// Label holding a container's auto-update policy.
pub const LABEL_AUTOUPDATE: &str = "io.containers.autoupdate";
/// Label holding the auth file auto-update pulls a container's image with.
pub const LABEL_AUTOUPDATE_AUTHFILE: &str = "io.containers.autoupdate.authfile";
/// Workload annotation: workloads (Pod or controller names, comma-separated) whose pods must
/// be ready before this workload's pods are created, e.g. `io.quadplay.after: "db,cache"`.
pub const AFTER_ANNOTATION: &str = "io.quadplay.after";
/// Workload annotation: workloads whose pods must have run to completion, every container
/// exited with status 0, before this workload's pods are created (a one-shot job such as a
/// database migration), e.g. `io.quadplay.after-completed: "migrate"`. A non-zero exit fails
/// the start. What compose's `depends_on: condition: service_completed_successfully` becomes.
pub const AFTER_COMPLETED_ANNOTATION: &str = "io.quadplay.after-completed";
/// Workload annotation: more DNS names for its pods on the shared network (comma-separated),
/// e.g. a compose service name Kubernetes forbids (`plausible_db`) or a `container_name`.
pub const ALIASES_ANNOTATION: &str = "io.quadplay.aliases";
/// Deployment annotation prefix giving one host port per replica:
/// `io.quadplay.replica-host-ports/<containerPort>: "8081,8082,8083"`. Without it a Deployment
/// with `replicas > 1` and a `hostPort` is refused, because every replica would bind the same
/// host port. It is an annotation so the YAML stays valid Kubernetes.
pub const REPLICA_HOST_PORTS: &str = "io.quadplay.replica-host-ports/";
/// Secret annotation: keys whose value is a systemd credential of the `.kube` unit, read from
/// `$CREDENTIALS_DIRECTORY` at every start and reload, `KEY=CREDENTIAL` (or `KEY` alone when
/// both are named alike), comma-separated: `io.quadplay.credentials: "password=db-password"`.
pub const CREDENTIALS_ANNOTATION: &str = "io.quadplay.credentials";
/// Secret annotation: keys whose value is an existing Podman secret, `KEY=PODMAN_SECRET` (or
/// `KEY`), comma-separated. The secret is referenced (`--secret NAME,type=env|mount`), never read,
/// created or removed by quadplay: `io.quadplay.podman-secrets: "token=vendor-token"`.
pub const PODMAN_SECRETS_ANNOTATION: &str = "io.quadplay.podman-secrets";
