// kubecheck validates rendered Kubernetes manifests (multi-document YAML on stdin) without an API
// server, for `helm template` output in the tests. kubectl cannot do this offline: even
// `--dry-run=client --validate=false` needs the server's discovery, and validation needs its OpenAPI.
//
// What it checks, per document:
//   - the kind and apiVersion are known (client-go's built-in scheme plus prometheus-operator's
//     monitoring/v1 for ServiceMonitor);
//   - strict decoding into the typed structs: unknown or duplicate fields and wrong types are errors;
//   - metadata: name, labels and annotations as the API server validates them;
//   - workloads: the selector matches the pod template's labels, container, port and env var names
//     are valid, named probe ports exist, every volume mount names a volume or a claim template,
//     requests do not exceed limits, a StatefulSet names its governing Service;
//   - Services: ports have numbers, named ports are valid.
//
// It does not run the API server's full validation or admission. Prints "ok <kind>/<name>" per
// document and exits 1 when any document has a problem.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

func main() {
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := monitoringv1.AddToScheme(s); err != nil {
		panic(err)
	}
	decoder := serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()

	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	failed, count := false, 0
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Printf("error reading YAML: %v\n", err)
			os.Exit(1)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		count++
		jsonDoc, err := sigsyaml.YAMLToJSONStrict(raw)
		if err != nil {
			fmt.Printf("error document %d: %v\n", count, err)
			failed = true
			continue
		}
		obj, gvk, err := decoder.Decode(jsonDoc, nil, nil)
		if err != nil {
			fmt.Printf("error document %d: %v\n", count, err)
			failed = true
			continue
		}
		accessor, err := metaOf(obj)
		if err != nil {
			fmt.Printf("error document %d: %v\n", count, err)
			failed = true
			continue
		}
		id := fmt.Sprintf("%s/%s", gvk.Kind, accessor.Name)
		errs := apivalidation.ValidateObjectMeta(accessor, false, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
		errs = append(errs, checkObject(obj)...)
		if len(errs) > 0 {
			failed = true
			for _, e := range errs {
				fmt.Printf("error %s: %v\n", id, e)
			}
			continue
		}
		fmt.Printf("ok %s\n", id)
	}
	if count == 0 {
		fmt.Println("error: no documents on stdin")
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func metaOf(obj runtime.Object) (*metav1.ObjectMeta, error) {
	type objectMeta interface{ GetObjectMeta() metav1.Object }
	if o, ok := obj.(objectMeta); ok {
		if m, ok := o.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%T has no ObjectMeta", obj)
}

func checkObject(obj runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return checkWorkload(o.Spec.Selector, &o.Spec.Template, nil, field.NewPath("spec"))
	case *appsv1.StatefulSet:
		errs := checkWorkload(o.Spec.Selector, &o.Spec.Template, o.Spec.VolumeClaimTemplates, field.NewPath("spec"))
		if o.Spec.ServiceName == "" {
			errs = append(errs, field.Required(field.NewPath("spec", "serviceName"), "a StatefulSet needs its governing Service"))
		}
		for i, c := range o.Spec.VolumeClaimTemplates {
			if _, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
				errs = append(errs, field.Required(field.NewPath("spec", "volumeClaimTemplates").Index(i).Child("spec", "resources", "requests", "storage"), ""))
			}
		}
		return errs
	case *corev1.Service:
		var errs field.ErrorList
		for i, p := range o.Spec.Ports {
			path := field.NewPath("spec", "ports").Index(i)
			if p.Port < 1 || p.Port > 65535 {
				errs = append(errs, field.Invalid(path.Child("port"), p.Port, "must be 1-65535"))
			}
			if p.Name != "" {
				for _, msg := range validation.IsDNS1123Label(p.Name) {
					errs = append(errs, field.Invalid(path.Child("name"), p.Name, msg))
				}
			}
			if p.TargetPort.Type == intstr.String {
				for _, msg := range validation.IsValidPortName(p.TargetPort.StrVal) {
					errs = append(errs, field.Invalid(path.Child("targetPort"), p.TargetPort.StrVal, msg))
				}
			}
		}
		return errs
	}
	return nil
}

func checkWorkload(selector *metav1.LabelSelector, tpl *corev1.PodTemplateSpec, claims []corev1.PersistentVolumeClaim, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if selector == nil {
		errs = append(errs, field.Required(path.Child("selector"), ""))
	} else if sel, err := metav1.LabelSelectorAsSelector(selector); err != nil {
		errs = append(errs, field.Invalid(path.Child("selector"), selector, err.Error()))
	} else if sel.Empty() || !sel.Matches(labels.Set(tpl.Labels)) {
		errs = append(errs, field.Invalid(path.Child("template", "metadata", "labels"), tpl.Labels, "selector does not match template labels"))
	}
	errs = append(errs, metav1validation.ValidateLabels(tpl.Labels, path.Child("template", "metadata", "labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(tpl.Annotations, path.Child("template", "metadata", "annotations"))...)

	spec := &tpl.Spec
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
	}
	for _, c := range claims {
		volumes[c.Name] = true
	}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("template", "spec", "containers"), ""))
	}
	for i, c := range all {
		cp := path.Child("template", "spec", "containers").Index(i)
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
		}
		if c.Image == "" {
			errs = append(errs, field.Required(cp.Child("image"), ""))
		}
		ports := map[string]bool{}
		for j, p := range c.Ports {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 {
				errs = append(errs, field.Invalid(cp.Child("ports").Index(j).Child("containerPort"), p.ContainerPort, "must be 1-65535"))
			}
			if p.Name != "" {
				for _, msg := range validation.IsValidPortName(p.Name) {
					errs = append(errs, field.Invalid(cp.Child("ports").Index(j).Child("name"), p.Name, msg))
				}
				ports[p.Name] = true
			}
		}
		for j, e := range c.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				errs = append(errs, field.Invalid(cp.Child("env").Index(j).Child("name"), e.Name, msg))
			}
		}
		for j, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				errs = append(errs, field.NotFound(cp.Child("volumeMounts").Index(j).Child("name"), m.Name))
			}
		}
		for name, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
			if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.Type == intstr.String && !ports[probe.HTTPGet.Port.StrVal] {
				errs = append(errs, field.NotFound(cp.Child(name, "httpGet", "port"), probe.HTTPGet.Port.StrVal))
			}
		}
		for res, limit := range c.Resources.Limits {
			if req, ok := c.Resources.Requests[res]; ok && req.Cmp(limit) > 0 {
				errs = append(errs, field.Invalid(cp.Child("resources", "requests").Key(string(res)), req.String(), "must be less than or equal to the limit"))
			}
		}
	}
	return errs
}
