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
{{- include "nodetap.componentLabels" (dict "root" . "component" "agent") }}
{{- end }}

{{/*
Labels of an object of one component (dict "root" $ "component" "agent"): the agent's objects are
"agent", the GPU DaemonSet and its pods "gpu-agent".
*/}}
{{- define "nodetap.componentLabels" -}}
{{- $root := .root -}}
helm.sh/chart: {{ include "nodetap.chart" $root }}
{{ include "nodetap.selectorLabels" $root }}
app.kubernetes.io/version: {{ ($root.Values.image.tag | default $root.Chart.AppVersion) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: nodetap
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Name of the GPU DaemonSet: <fullname>-gpu, within 63 characters. */}}
{{- define "nodetap.gpuName" -}}
{{- printf "%s-gpu" (include "nodetap.fullname" . | trunc 59 | trimSuffix "-") }}
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
{{- include "nodetap.podLogGlob" (dict "root" . "daemonSet" (include "nodetap.fullname" .)) -}}
{{- end }}

{{/* The same glob for the pods of DaemonSet .daemonSet (dict "root" $ "daemonSet" NAME). */}}
{{- define "nodetap.podLogGlob" -}}
{{- $prefix := printf "%s-" .daemonSet | trunc 58 -}}
{{- printf "%s/pods/%s_%s?????_*/nodetap/*" (trimSuffix "/" .root.Values.hostMounts.logs.hostPath) (include "nodetap.namespace" .root) $prefix -}}
{{- end }}

{{/* Every own-log glob: the agent's pods, and with gpu.enabled those of the GPU DaemonSet (a list, as JSON). */}}
{{- define "nodetap.ownLogGlobs" -}}
{{- $globs := list (include "nodetap.ownLogGlob" .) -}}
{{- if .Values.gpu.enabled -}}
{{- $globs = append $globs (include "nodetap.podLogGlob" (dict "root" . "daemonSet" (include "nodetap.gpuName" .))) -}}
{{- end -}}
{{- $globs | uniq | toJson -}}
{{- end }}

{{/*
The agent's configuration file: values.config, plus what the chart owns: the exclude globs for
the agent's own logs (with excludeOwnLogs; the GPU DaemonSet's pods too). The checkpoint directory and listen address are
flags (they follow the mounts and ports), so they are not repeated here.
*/}}
{{- define "nodetap.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- if .Values.excludeOwnLogs -}}
{{- $logs := (get $cfg "logs") | default dict -}}
{{- $sources := (get $logs "sources") | default dict -}}
{{- $pods := (get $sources "pods") | default dict -}}
{{- $exclude := (get $pods "exclude") | default list -}}
{{- $_ := set $pods "exclude" (concat $exclude (include "nodetap.ownLogGlobs" . | fromJsonArray) | uniq) -}}
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
{{- if .Values.gpu.enabled -}}
{{- if not .Values.gpu.nodeSelector -}}
{{- fail "gpu.enabled needs gpu.nodeSelector: the labels of the GPU nodes, where the GPU DaemonSet runs instead of the main one" -}}
{{- end -}}
{{- $gpuCfg := dig "metrics" "collectors" "gpu" dict (.Values.config | default dict) -}}
{{- if or (hasKey $gpuCfg "enabled") (hasKey $gpuCfg "podResourcesSocket") -}}
{{- fail "config.metrics.collectors.gpu.enabled and .podResourcesSocket are set by the chart when gpu.enabled (flags: the gpu collector runs only in the GPU DaemonSet, and the socket follows its mount); set gpu.podResources instead" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* In-container path of the kubelet's pod-resources directory, as the agent sees it under its rootfs. */}}
{{- define "nodetap.podResourcesDir" -}}
/var/lib/kubelet/pod-resources
{{- end }}

{{/*
Node affinity of the main DaemonSet: values.affinity, and with gpu.enabled a required term that
keeps it off the GPU nodes (those matching gpu.nodeSelector), where the GPU DaemonSet runs. Not
(k1=v1 and k2=v2) is (k1 NotIn [v1]) or (k2 NotIn [v2]): one node selector term per label, each
ANDed with every term of values.affinity (NotIn also matches nodes without the label).
*/}}
{{- define "nodetap.mainAffinity" -}}
{{- $affinity := deepCopy (.Values.affinity | default dict) -}}
{{- if .Values.gpu.enabled -}}
{{- $gpuSelector := .Values.gpu.nodeSelector -}}
{{- $node := (get $affinity "nodeAffinity") | default dict -}}
{{- $required := (get $node "requiredDuringSchedulingIgnoredDuringExecution") | default dict -}}
{{- $userTerms := (get $required "nodeSelectorTerms") | default (list dict) -}}
{{- $terms := list -}}
{{- range $term := $userTerms -}}
{{- range $key := keys $gpuSelector | sortAlpha -}}
{{- $t := deepCopy ($term | default dict) -}}
{{- $notGpu := dict "key" $key "operator" "NotIn" "values" (list (get $gpuSelector $key | toString)) -}}
{{- $_ := set $t "matchExpressions" (append ((get $t "matchExpressions") | default list) $notGpu) -}}
{{- $terms = append $terms $t -}}
{{- end -}}
{{- end -}}
{{- $_ := set $required "nodeSelectorTerms" $terms -}}
{{- $_ := set $node "requiredDuringSchedulingIgnoredDuringExecution" $required -}}
{{- $_ := set $affinity "nodeAffinity" $node -}}
{{- end -}}
{{- if $affinity }}{{ toYaml $affinity }}{{ end -}}
{{- end }}

{{/*
A DaemonSet of the agent: (dict "root" $ "gpu" false) is the main one, (dict "root" $ "gpu" true)
the GPU one (gpu.enabled). Both run the same image, config, mounts, probes and security context;
the GPU one differs only where a comment says so.
*/}}
{{- define "nodetap.daemonSet" -}}
{{- $root := .root -}}
{{- $v := .root.Values -}}
{{- $gpu := .gpu -}}
{{- $checkpointDir := include "nodetap.checkpointDir" $root -}}
{{- $logDir := $v.hostMounts.logs.hostPath -}}
{{- $component := ternary "gpu-agent" "agent" $gpu -}}
{{- $podResources := and $gpu $v.gpu.podResources.enabled -}}
{{- $podResourcesDir := include "nodetap.podResourcesDir" $root -}}
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ ternary (include "nodetap.gpuName" $root) (include "nodetap.fullname" $root) $gpu }}
  namespace: {{ include "nodetap.namespace" $root }}
  labels:
    {{- include "nodetap.componentLabels" (dict "root" $root "component" $component) | nindent 4 }}
  {{- with $v.daemonSetAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "nodetap.selectorLabels" $root | nindent 6 }}
      {{- if $gpu }}
      {{- /* The main DaemonSet's selector (immutable) matches these pods too; each controller manages only the pods it owns. */}}
      app.kubernetes.io/component: gpu-agent
      {{- end }}
  updateStrategy:
    type: {{ $v.updateStrategy.type }}
    {{- if eq $v.updateStrategy.type "RollingUpdate" }}
    rollingUpdate:
      maxUnavailable: {{ $v.updateStrategy.rollingUpdate.maxUnavailable | toJson }}
      maxSurge: {{ $v.updateStrategy.rollingUpdate.maxSurge | default 0 | toJson }}
    {{- end }}
  minReadySeconds: {{ $v.minReadySeconds }}
  revisionHistoryLimit: {{ $v.revisionHistoryLimit }}
  template:
    metadata:
      labels:
        {{- include "nodetap.componentLabels" (dict "root" $root "component" $component) | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- if not $v.existingConfigMap }}
        checksum/config: {{ include "nodetap.config" $root | sha256sum }}
        {{- end }}
        kubectl.kubernetes.io/default-container: nodetap
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "nodetap.serviceAccountName" $root }}
      automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
      {{- with (include "nodetap.imagePullSecrets" $root) }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- if and $gpu $v.gpu.runtimeClassName }}
      {{- /* The NVIDIA runtime injects libnvidia-ml.so.1 and /dev/nvidia* (NVIDIA_* env below). */}}
      runtimeClassName: {{ $v.gpu.runtimeClassName }}
      {{- end }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      hostNetwork: {{ $v.hostNetwork }}
      dnsPolicy: {{ $v.dnsPolicy | default (ternary "ClusterFirstWithHostNet" "ClusterFirst" $v.hostNetwork) }}
      hostPID: false
      hostIPC: false
      {{- $podSecurityContext := deepCopy ($v.podSecurityContext | default dict) }}
      {{- if and $gpu (not (kindIs "invalid" $v.gpu.runAsUser)) }}
      {{- /* gpu.runAsUser: the kubelet's pod-resources socket is root's. */}}
      {{- $_ := set $podSecurityContext "runAsUser" $v.gpu.runAsUser }}
      {{- if eq (int $v.gpu.runAsUser) 0 }}
      {{- $_ := set $podSecurityContext "runAsNonRoot" false }}
      {{- end }}
      {{- end }}
      {{- with $podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- $nodeSelector := deepCopy ($v.nodeSelector | default dict) }}
      {{- if $gpu }}
      {{- $nodeSelector = mustMerge (deepCopy $v.gpu.nodeSelector) $nodeSelector }}
      {{- end }}
      {{- with $nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (ternary (toYaml ($v.affinity | default dict)) (include "nodetap.mainAffinity" $root) $gpu | fromYaml) }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (ternary (concat ($v.tolerations | default list) ($v.gpu.tolerations | default list) | uniq) ($v.tolerations | default list) $gpu) }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: nodetap
          image: {{ include "nodetap.image" $root | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args:
            - --config=/etc/nodetap/config.yaml
            - --path.procfs=/host/proc
            - --path.sysfs=/host/sys
            {{- if $v.hostMounts.root.enabled }}
            - --path.rootfs=/host/root
            - --path.udev.data=/host/root/run/udev/data
            {{- end }}
            {{- if $v.listenOnAllInterfaces }}
            - --web.listen-address=:{{ $v.port }}
            {{- else }}
            - --web.listen-address=[$(POD_IP)]:{{ $v.port }}
            {{- end }}
            - --logs.checkpoint.dir={{ $checkpointDir }}
            {{- if $gpu }}
            - --metrics.collectors.gpu.enabled=true
            - --metrics.collectors.gpu.podResourcesSocket={{ if $podResources }}{{ $podResourcesDir }}/kubelet.sock{{ end }}
            {{- else if $v.gpu.enabled }}
            - --metrics.collectors.gpu.enabled=false
            {{- end }}
            {{- with $v.extraArgs }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          env:
            - name: NODE_NAME
              valueFrom:
                fieldRef:
                  fieldPath: spec.nodeName
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            {{- if $gpu }}
            # Every GPU's device node and NVML only (no compute): no GPU is allocated to the agent.
            - name: NVIDIA_VISIBLE_DEVICES
              value: all
            - name: NVIDIA_DRIVER_CAPABILITIES
              value: utility
            {{- end }}
            {{- range $name, $value := $v.env }}
            - name: {{ $name }}
              value: {{ $value | toString | quote }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- with $v.envFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: metrics
              containerPort: {{ $v.port }}
              protocol: TCP
          {{- with $v.livenessProbe }}
          livenessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.readinessProbe }}
          readinessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with (ternary ($v.gpu.resources | default $v.resources) $v.resources $gpu) }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          terminationMessagePolicy: FallbackToLogsOnError
          volumeMounts:
            - name: config
              mountPath: /etc/nodetap
              readOnly: true
            - name: proc
              mountPath: /host/proc
              readOnly: true
            - name: sys
              mountPath: /host/sys
              readOnly: true
            {{- if $v.hostMounts.root.enabled }}
            - name: root
              mountPath: /host/root
              readOnly: true
              {{- with $v.hostMounts.root.mountPropagation }}
              mountPropagation: {{ . }}
              {{- end }}
            {{- end }}
            {{- if $podResources }}
            # Where the agent looks for the socket: under its rootfs (--path.rootfs).
            - name: pod-resources
              mountPath: {{ ternary (printf "/host/root%s" $podResourcesDir) $podResourcesDir $v.hostMounts.root.enabled }}
              readOnly: true
            {{- end }}
            - name: logs
              mountPath: {{ $logDir }}
              readOnly: true
            {{- if $v.hostMounts.dockerContainers.enabled }}
            - name: docker-containers
              mountPath: {{ $v.hostMounts.dockerContainers.hostPath }}
              readOnly: true
            {{- end }}
            - name: checkpoints
              mountPath: {{ $checkpointDir }}
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ $v.existingConfigMap | default (include "nodetap.fullname" $root) }}
            items:
              - key: {{ ternary $v.existingConfigMapKey "config.yaml" (not (empty $v.existingConfigMap)) }}
                path: config.yaml
        - name: proc
          hostPath:
            path: {{ $v.hostMounts.proc.hostPath }}
            type: Directory
        - name: sys
          hostPath:
            path: {{ $v.hostMounts.sys.hostPath }}
            type: Directory
        {{- if $v.hostMounts.root.enabled }}
        - name: root
          hostPath:
            path: {{ $v.hostMounts.root.hostPath }}
            type: Directory
        {{- end }}
        {{- if $podResources }}
        - name: pod-resources
          hostPath:
            path: {{ $v.gpu.podResources.hostPath }}
            type: Directory
        {{- end }}
        - name: logs
          hostPath:
            path: {{ $logDir }}
            type: Directory
        {{- if $v.hostMounts.dockerContainers.enabled }}
        - name: docker-containers
          hostPath:
            path: {{ $v.hostMounts.dockerContainers.hostPath }}
            type: Directory
        {{- end }}
        - name: checkpoints
          hostPath:
            path: {{ $checkpointDir }}
            type: DirectoryOrCreate
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
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
