{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "ws2otel.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "ws2otel.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ws2otel.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ws2otel.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ws2otel.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ws2otel.labels" -}}
helm.sh/chart: {{ include "ws2otel.chart" . }}
{{ include "ws2otel.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ws2otel.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ws2otel.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
A StatefulSet when pods need an identity: a disk buffer (one claim per pod) or more than one
replica (WS2OTEL_REPLICA_INDEX is the pod's ordinal). Otherwise a Deployment.
*/}}
{{- define "ws2otel.statefulset" -}}
{{- if or .Values.buffer.disk.enabled (gt (int .Values.replicas) 1) }}true{{ end }}
{{- end }}

{{- define "ws2otel.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The pod template, shared by the Deployment and the StatefulSet. */}}
{{- define "ws2otel.podTemplate" -}}
{{- $sts := include "ws2otel.statefulset" . -}}
metadata:
  labels:
    {{- include "ws2otel.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "ws2otel.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: ws2otel
      image: {{ include "ws2otel.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- if and $sts (eq .Values.replicaIndexFrom "hostname") }}
      # WS2OTEL_REPLICA_INDEX from the pod's hostname (<statefulset>-<ordinal>), for clusters
      # without the apps.kubernetes.io/pod-index label (Kubernetes < 1.28).
      command: ["/bin/sh", "-c", 'export WS2OTEL_REPLICA_INDEX="${HOSTNAME##*-}"; exec node /app/dist/src/cli.js "$@"', "ws2otel"]
      {{- end }}
      args: ["run", "--config", "/etc/ws2otel/config.yaml"]
      env:
        - name: WS2OTEL_HTTP_ADDRESS
          value: "0.0.0.0:8686"
        - name: WS2OTEL_DATA_DIR
          value: /var/lib/ws2otel
        - name: WS2OTEL_REPLICA_COUNT
          value: {{ .Values.replicas | quote }}
        {{- if not $sts }}
        - name: WS2OTEL_REPLICA_INDEX
          value: "0"
        {{- else if eq .Values.replicaIndexFrom "podIndexLabel" }}
        {{- if semverCompare "<1.28.0-0" .Capabilities.KubeVersion.Version }}
        {{- fail "replicaIndexFrom: podIndexLabel needs Kubernetes >= 1.28 (the apps.kubernetes.io/pod-index label); use replicaIndexFrom: hostname" }}
        {{- end }}
        - name: WS2OTEL_REPLICA_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        {{- else if ne .Values.replicaIndexFrom "hostname" }}
        {{- fail "replicaIndexFrom must be podIndexLabel or hostname" }}
        {{- end }}
        {{- with .Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: 8686
          protocol: TCP
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/ws2otel/config.yaml
          subPath: config.yaml
          readOnly: true
        {{- if .Values.existingSecret }}
        - name: secrets
          mountPath: /etc/ws2otel/secrets
          readOnly: true
        {{- end }}
        - name: data
          mountPath: /var/lib/ws2otel
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: config
      configMap:
        name: {{ include "ws2otel.fullname" . }}
    {{- if .Values.existingSecret }}
    - name: secrets
      secret:
        secretName: {{ .Values.existingSecret }}
        defaultMode: 0440
    {{- end }}
    {{- if not .Values.buffer.disk.enabled }}
    - name: data
      emptyDir: {}
    {{- end }}
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 16Mi
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
