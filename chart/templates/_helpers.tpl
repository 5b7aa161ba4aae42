{{/* Chart name, truncated to 63 characters (DNS label). */}}
{{- define "nodetap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name of the release's objects: the release name, or release-chart when the
release name does not contain the chart name. Truncated to 63 characters (DNS label).
*/}}
{{- define "nodetap.fullname" -}}
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

{{/* Namespace of every namespaced object. */}}
{{- define "nodetap.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nodetap.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the agent's pods; never change between upgrades. */}}
{{- define "nodetap.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nodetap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the helm test pod: not the agent's selector (neither the DaemonSet nor the Service may pick it up). */}}
{{- define "nodetap.testLabels" -}}
app.kubernetes.io/name: {{ include "nodetap.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{- define "nodetap.labels" -}}
helm.sh/chart: {{ include "nodetap.chart" . }}
{{ include "nodetap.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: agent
app.kubernetes.io/part-of: nodetap
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "nodetap.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nodetap.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository:tag@digest; global.imageRegistry wins over image.registry. */}}
{{- define "nodetap.image" -}}
{{- $registry := .Values.global.imageRegistry | default .Values.image.registry -}}
{{- $ref := .Values.image.repository -}}
{{- if $registry }}{{ $ref = printf "%s/%s" $registry $ref }}{{ end -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if $tag }}{{ $ref = printf "%s:%s" $ref $tag }}{{ end -}}
{{- if .Values.image.digest }}{{ $ref = printf "%s@%s" $ref .Values.image.digest }}{{ end -}}
{{- $ref -}}
{{- end }}

{{- define "nodetap.imagePullSecrets" -}}
{{- $secrets := concat (.Values.global.imagePullSecrets | default list) (.Values.imagePullSecrets | default list) | uniq -}}
{{- if $secrets }}
imagePullSecrets:
{{- range $secrets }}
  {{- if kindIs "string" . }}
  - name: {{ . }}
  {{- else }}
  - {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Prometheus job label of the agent's series (ServiceMonitor/PodMonitor relabel it, alerts select it). */}}
{{- define "nodetap.metricsJob" -}}
{{- .Values.metricsJob | default (include "nodetap.fullname" .) }}
{{- end }}

{{/* Where the checkpoint hostPath is mounted in the container (the same path as on the host). */}}
{{- define "nodetap.checkpointDir" -}}
{{- .Values.checkpoints.hostPath }}
{{- end }}

{{/*
Glob matching the agent's own container log files under /var/log/pods: the kubelet names pod log
directories <namespace>_<pod>_<uid>, and the DaemonSet controller names pods <generateName><5
random characters>, where generateName is "<daemonset>-" cut to 58 characters.
*/}}
{{- define "nodetap.ownLogGlob" -}}
{{- $prefix := printf "%s-" (include "nodetap.fullname" .) | trunc 58 -}}
{{- printf "%s/pods/%s_%s?????_*/nodetap/*" (trimSuffix "/" .Values.hostMounts.logs.hostPath) (include "nodetap.namespace" .) $prefix -}}
{{- end }}

{{/*
The agent's configuration file: values.config, plus what the chart owns: the exclude glob for
the agent's own logs (with excludeOwnLogs). The checkpoint directory and listen address are
flags (they follow the mounts and ports), so they are not repeated here.
*/}}
{{- define "nodetap.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- if .Values.excludeOwnLogs -}}
{{- $logs := (get $cfg "logs") | default dict -}}
{{- $sources := (get $logs "sources") | default dict -}}
{{- $pods := (get $sources "pods") | default dict -}}
{{- $exclude := (get $pods "exclude") | default list -}}
{{- $_ := set $pods "exclude" (append $exclude (include "nodetap.ownLogGlob" .) | uniq) -}}
{{- $_ := set $sources "pods" $pods -}}
{{- $_ := set $logs "sources" $sources -}}
{{- $_ := set $cfg "logs" $logs -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end }}

{{/* Cross-field checks the JSON schema cannot express; each fails with what to change. */}}
{{- define "nodetap.validate" -}}
{{- $surge := .Values.updateStrategy.rollingUpdate.maxSurge | default 0 | toString -}}
{{- if and (eq .Values.updateStrategy.type "RollingUpdate") .Values.hostNetwork (not (has $surge (list "0" "0%"))) -}}
{{- fail (printf "updateStrategy.rollingUpdate.maxSurge is %s, but with hostNetwork: true the new pod cannot bind port %v while the old one holds it on the same node; set maxSurge: 0 (and use maxUnavailable), or hostNetwork: false" $surge .Values.port) -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled .Values.podMonitor.enabled -}}
{{- fail "serviceMonitor.enabled and podMonitor.enabled are both true: each scrapes every agent, so every series would be collected twice; enable one" -}}
{{- end -}}
{{- $logs := (get (.Values.config | default dict) "logs") | default dict -}}
{{- if hasKey ((get $logs "checkpoint") | default dict) "dir" -}}
{{- fail "config.logs.checkpoint.dir is set by the chart (flag --logs.checkpoint.dir, the writable hostPath mount); set checkpoints.hostPath instead" -}}
{{- end -}}
{{- if hasKey ((get (.Values.config | default dict) "web") | default dict) "listenAddress" -}}
{{- fail "config.web.listenAddress is set by the chart (flag --web.listen-address); set port (and listenOnAllInterfaces) instead" -}}
{{- end -}}
{{- if (get (.Values.config | default dict) "paths") -}}
{{- fail "config.paths.* are set by the chart (flags --path.procfs, --path.sysfs, --path.rootfs, --path.udev.data) from hostMounts" -}}
{{- end -}}
{{- if and .Values.tests.enabled (not .Values.service.enabled) -}}
{{- fail "tests.enabled needs service.enabled: the helm test pod reaches the agent through the Service" -}}
{{- end -}}
{{- end }}

{{/* Relabelings shared by the ServiceMonitor and the PodMonitor: job, instance = node name, extras. */}}
{{- define "nodetap.scrapeRelabelings" -}}
- action: replace
  targetLabel: job
  replacement: {{ include "nodetap.metricsJob" .root }}
{{- if .monitor.instanceFromNodeName }}
- action: replace
  sourceLabels: [__meta_kubernetes_pod_node_name]
  targetLabel: instance
{{- end }}
{{- with .monitor.relabelings }}
{{ toYaml . }}
{{- end }}
{{- end }}
