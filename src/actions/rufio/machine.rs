//! `rufio.machine`: a machine's BMC registered with Rufio (its credentials Secret and a
//! `bmc.tinkerbell.org/v1alpha1` Machine), then a watch until Rufio reports it Contactable.

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, Planned, Ran, RunContext, StepSpec,
};
use kube::api::{Api, DynamicObject};
use serde::Deserialize;
use serde_json::{Value, json};

use super::machine_resource;
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::support::{SecretRef, params, secret_resource};
use crate::actions::watch::{self, Check, conditions};
use crate::clients::kube::LazyClient;
use crate::clients::kube::apply::{Object, plan_objects};
use crate::secrets::Secrets;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MachineParams {
    namespace: String,
    machine: String,
    host: String,
    port: u16,
    protocol: String,
    #[serde(default)]
    insecure_tls: bool,
    username: SecretRef,
    password: SecretRef,
}

/// The `rufio.machine` action.
#[derive(Debug)]
pub struct RufioMachine {
    client: Arc<LazyClient>,
    secrets: Secrets,
}

impl RufioMachine {
    pub fn new(client: Arc<LazyClient>, secrets: Secrets) -> Self {
        Self { client, secrets }
    }

    fn secret_name(params: &MachineParams) -> String {
        format!("bmc-{}", params.machine)
    }

    /// The credentials Secret and the Machine, in the order they are applied.
    fn objects(&self, params: &MachineParams) -> Result<[Object; 2], ActionError> {
        Ok([
            Object::namespaced(
                secret_resource(),
                &params.namespace,
                &Self::secret_name(params),
                self.secret_body(params)?,
                "Secret",
            )
            // Per key changed or unchanged, never a value.
            .hiding(&["/data", "/stringData"]),
            Object::namespaced(
                machine_resource(),
                &params.namespace,
                &params.machine,
                Self::machine_body(params)?,
                "Machine",
            ),
        ])
    }

    /// The credentials Secret Rufio reads (keys `username` and `password`).
    fn secret_body(&self, params: &MachineParams) -> Result<Value, ActionError> {
        use base64::Engine as _;
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        Ok(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": Self::secret_name(params),
                "namespace": params.namespace,
                "labels": {"app.kubernetes.io/managed-by": "genesis"},
            },
            "type": "Opaque",
            "data": {
                "username": encode(params.username.value(&self.secrets)?),
                "password": encode(params.password.value(&self.secrets)?),
            },
        }))
    }

    fn machine_body(params: &MachineParams) -> Result<Value, ActionError> {
        let (provider, options) = match params.protocol.as_str() {
            // AMT answers plain HTTP on 16992 and TLS on 16993.
            "intel-amt" => (
                "IntelAMT",
                json!({"intelAMT": {"port": params.port, "hostScheme": if params.port == 16993 { "https" } else { "http" }}}),
            ),
            // Basic auth, not a Redfish session: bmclib's gofish provider otherwise logs in
            // through SessionService, which not every BMC offers (sushy-tools' emulator has
            // none), while the Redfish specification (DMTF DSP0266, "HTTP Basic
            // authentication") requires services to accept basic auth.
            "redfish" => (
                "gofish",
                json!({"redfish": {"port": params.port, "useBasicAuth": true}}),
            ),
            "ipmi" => ("ipmitool", json!({"ipmitool": {"port": params.port}})),
            other => {
                return Err(ActionError::new(
                    ErrorKind::InvalidParams,
                    format!("unknown BMC protocol `{other}`"),
                ));
            }
        };
        let mut provider_options = options;
        provider_options["preferredOrder"] = json!([provider]);
        Ok(json!({
            "apiVersion": "bmc.tinkerbell.org/v1alpha1",
            "kind": "Machine",
            "metadata": {
                "name": params.machine,
                "namespace": params.namespace,
                "labels": {"app.kubernetes.io/managed-by": "genesis"},
            },
            "spec": {
                "connection": {
                    "host": params.host,
                    "port": params.port,
                    "insecureTLS": params.insecure_tls,
                    "authSecretRef": {"name": Self::secret_name(params), "namespace": params.namespace},
                    "providerOptions": provider_options,
                },
            },
        }))
    }
}

/// The Machine's Contactable condition: `Some(true)`, `Some(false)` with Rufio's message, or
/// `None` while Rufio has not looked yet.
fn contactable(machine: &DynamicObject) -> (Option<bool>, String) {
    match conditions::find(&machine.data, "Contactable") {
        None => (None, "Rufio has not reported yet".to_owned()),
        Some(condition) => (
            Some(conditions::is_true(Some(condition))),
            conditions::message(condition).to_owned(),
        ),
    }
}

impl genesis_engine::Action for RufioMachine {
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: MachineParams = params(step)?;
            let client = self.client.for_step().await?;
            plan_objects(&client, &self.objects(&params)?).await
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: MachineParams = params(step)?;
            let client = self.client.for_step().await?;
            let secret_name = Self::secret_name(&params);
            for object in self.objects(&params)? {
                object.apply(&client, context).await?;
            }

            let api: Api<DynamicObject> =
                Api::namespaced_with(client, &params.namespace, &machine_resource());
            let address = format!("{}:{}", params.host, params.port);
            let what = format!(
                "Machine {} (BMC {address}) to be Contactable",
                params.machine
            );
            // Rufio's last word on the BMC, for the message if the wait runs out.
            let mut last = String::new();
            let waited = context
                .wait(
                    &what,
                    None,
                    // Rufio may not have written a status yet, nor even seen the Machine.
                    watch::until(api, &params.machine, context, |machine| {
                        Ok(match machine.map(contactable) {
                            Some((Some(true), _)) => Check::Done(()),
                            Some((Some(false), message)) => {
                                let note = format!("BMC {address} not contactable yet: {message}");
                                last = message;
                                Check::Waiting(note)
                            }
                            Some((None, message)) => Check::Waiting(message),
                            None => Check::Waiting("Rufio has not reported yet".to_owned()),
                        })
                    }),
                )
                .await;
            if let Err(error) = waited {
                if error.kind() != ErrorKind::Timeout {
                    return Err(error);
                }
                let rufio = match last {
                    message if message.is_empty() => String::new(),
                    message => format!(" (Rufio: {message})"),
                };
                return Err(ActionError::new(
                    ErrorKind::Timeout,
                    format!(
                        "the BMC of {machine} at {address} ({protocol}) did not become contactable within the step's timeout{rufio}: check that {host} is {machine}'s BMC, that it is powered and answers on port {port} from the Platform cluster, and the BMC username and password in the secrets file (Secret {namespace}/{secret_name}); `kubectl -n {namespace} describe machines.bmc.tinkerbell.org {machine}` shows what Rufio sees",
                        machine = params.machine,
                        protocol = params.protocol,
                        host = params.host,
                        port = params.port,
                        namespace = params.namespace,
                    ),
                ));
            }
            let mut outputs = Outputs::new();
            outputs.insert("machine".to_owned(), params.machine.clone().into());
            outputs.insert("namespace".to_owned(), params.namespace.clone().into());
            Ok(outputs)
        })
    }
}

/// `rufio.machine`: a BMC registered with Rufio.
/// The BMC's credentials Secret and its Rufio Machine (on the Platform cluster).
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    match (text(p, "namespace"), text(p, "machine")) {
        (Some(namespace), Some(machine)) => vec![
            OwnedObject::secret(Cluster::Platform, namespace, &format!("bmc-{machine}")),
            OwnedObject::named(
                Cluster::Platform,
                super::machine_resource(),
                namespace,
                machine,
            ),
        ],
        _ => Vec::new(),
    }
}

pub(crate) const KIND: Definition = Definition {
    name: "rufio.machine",
    summary: "a BMC registered with Rufio and contactable",
    target: Target::Platform,
    preview: Preview::Apply,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<MachineParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("machine", NameRule::Object),
    ],
    describe: |p| {
        let namespace = p.text("namespace");
        let machine = p.text("machine");
        vec![
            format!(
                "apply Secret {namespace}/bmc-{machine}: username {}, password {}",
                p.text("username"),
                p.text("password")
            ),
            format!(
                "apply Machine {namespace}/{machine}: {} at {}:{}",
                p.text("protocol"),
                p.text("host"),
                p.text("port")
            ),
            format!("wait until Machine {machine} is Contactable"),
        ]
    },
    build: Build::Remote(|clusters| {
        Arc::new(RufioMachine::new(
            Arc::clone(&clusters.platform),
            clusters.secrets.clone(),
        ))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;

    fn params(protocol: &str, port: u16) -> MachineParams {
        serde_json::from_value(json!({
            "namespace": "tink-system", "machine": "ms-02-1", "host": "10.10.10.111",
            "port": port, "protocol": protocol,
            "username": {"secret": "bmc.ms-02-1.username"},
            "password": {"secret": "bmc.ms-02-1.password"},
        }))
        .expect("params")
    }

    /// The reference lab's Intel AMT: bmclib's IntelAMT provider, plain HTTP on 16992
    /// (Rufio's `providerOptions.intelAMT`, api/v1alpha1/bmc machine types).
    #[test]
    fn intel_amt_machine_uses_the_amt_provider_and_scheme() {
        let body = RufioMachine::machine_body(&params("intel-amt", 16992)).expect("body");
        let connection = &body["spec"]["connection"];
        assert_eq!(connection["host"], "10.10.10.111");
        assert_eq!(connection["port"], 16992);
        assert_eq!(
            connection["providerOptions"],
            json!({"preferredOrder": ["IntelAMT"], "intelAMT": {"port": 16992, "hostScheme": "http"}})
        );
        let tls = RufioMachine::machine_body(&params("intel-amt", 16993)).expect("body");
        assert_eq!(
            tls["spec"]["connection"]["providerOptions"]["intelAMT"]["hostScheme"],
            "https"
        );
    }

    /// Redfish: gofish with basic auth (the emulator in the test world has no SessionService).
    #[test]
    fn redfish_machine_uses_gofish_with_basic_auth() {
        let body = RufioMachine::machine_body(&params("redfish", 8443)).expect("body");
        assert_eq!(
            body["spec"]["connection"]["providerOptions"],
            json!({"preferredOrder": ["gofish"], "redfish": {"port": 8443, "useBasicAuth": true}})
        );
    }
}
