// Reads rendered manifests (YAML, several documents) on stdin and validates every object against the
// Kubernetes API's JSON schemas (kubernetes-models, which ships them), or the Prometheus Operator's for
// its kinds. Prints one line per object; exits 1 if any object is invalid or of a kind it cannot check.
// With --summary, prints a JSON summary of the workloads (images, ports, probes, env names, GPU limits)
// on the last line, for the checks that tie the manifests to the Dockerfile and the host.
import { parseAllDocuments } from "yaml";

const input = await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
});

const modules = {
  "v1": (kind) => `kubernetes-models/v1/${kind}`,
  "apps/v1": (kind) => `kubernetes-models/apps/v1/${kind}`,
  "batch/v1": (kind) => `kubernetes-models/batch/v1/${kind}`,
  "policy/v1": (kind) => `kubernetes-models/policy/v1/${kind}`,
  "autoscaling/v2": (kind) => `kubernetes-models/autoscaling/v2/${kind}`,
  "monitoring.coreos.com/v1": (kind) => `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`,
};

let failed = false;
const workloads = [];
for (const doc of parseAllDocuments(input)) {
  const object = doc.toJS();
  if (!object) continue;
  const name = `${object.kind}/${object.metadata?.name}`;
  const module = modules[object.apiVersion];
  if (!module) {
    console.log(`UNCHECKED ${name}: no schema for apiVersion ${object.apiVersion}`);
    failed = true;
    continue;
  }

  try {
    const Model = (await import(module(object.kind)))[object.kind];
    new Model(object).validate();
    console.log(`valid ${name}`);
  } catch (error) {
    console.log(`INVALID ${name}: ${error.message}`);
    failed = true;
  }

  const pod = object.kind === "Job" || object.kind === "Deployment" ? object.spec?.template?.spec : null;
  for (const container of pod?.containers ?? []) {
    workloads.push({
      object: name,
      image: container.image,
      ports: (container.ports ?? []).map((p) => p.containerPort),
      probes: [container.readinessProbe, container.livenessProbe].filter(Boolean).map((p) => `${p.httpGet?.path}:${p.httpGet?.port}`),
      env: (container.env ?? []).map((e) => e.name),
      gpu: container.resources?.limits?.["nvidia.com/gpu"] ?? null,
      runAsNonRoot: pod.securityContext?.runAsNonRoot ?? false,
    });
  }
}

if (process.argv.includes("--summary")) console.log(JSON.stringify(workloads));
process.exit(failed ? 1 : 0);
