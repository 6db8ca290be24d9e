{{/* The environment of a component's container: (dict "root" $ "name" "identity"). */}}
{{- define "tillit.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $name := .name -}}
{{- $upper := upper $name -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- if eq $name "portal" }}
- name: TILLIT_PORTAL_ADDR
  value: "0.0.0.0:8080"
- name: TILLIT_PORTAL_ADMIN_ADDR
  value: "0.0.0.0:9090"
{{- range $service := list "identity" "assets" "incidents" "reporting" }}
- name: TILLIT_PORTAL_{{ upper $service }}_URL
  value: {{ printf "http://%s:50051" (include "tillit.componentName" (dict "root" $root "name" $service)) | quote }}
{{- end }}
- name: TILLIT_PORTAL_COOKIE_KEY_FILE
  value: /etc/tillit/secrets/cookie/{{ include "tillit.cookieKey" $root }}
{{- else }}
- name: TILLIT_{{ $upper }}_GRPC_ADDR
  value: "0.0.0.0:50051"
- name: TILLIT_{{ $upper }}_ADMIN_ADDR
  value: "0.0.0.0:9090"
- name: TILLIT_NATS_URL
  value: {{ $v.nats.url | quote }}
- name: TILLIT_STREAM_REPLICAS
  value: {{ $v.nats.streamReplicas | int64 | quote }}
- name: TILLIT_NATS_TIMEOUT_MS
  value: {{ $v.nats.timeoutMs | int64 | quote }}
{{- if $v.nats.tls.caSecret }}
- name: TILLIT_NATS_CA_FILE
  value: /etc/tillit/nats/ca/ca.crt
{{- end }}
{{- if $v.nats.tls.clientSecret }}
- name: TILLIT_NATS_CERT_FILE
  value: /etc/tillit/nats/client/tls.crt
- name: TILLIT_NATS_KEY_FILE
  value: /etc/tillit/nats/client/tls.key
{{- end }}
{{- if $v.nats.credentials.credsSecret }}
- name: TILLIT_NATS_CREDS_FILE
  value: /etc/tillit/nats/credentials/{{ $v.nats.credentials.key }}
{{- else if $v.nats.credentials.nkeySecret }}
- name: TILLIT_NATS_NKEY_FILE
  value: /etc/tillit/nats/credentials/{{ $v.nats.credentials.key }}
{{- end }}
- name: TILLIT_PERSONAL_DATA_KEY_FILE
  value: /etc/tillit/secrets/personal-data/{{ include "tillit.personalDataKey" $root }}
- name: TILLIT_READY_MAX_LAG
  value: {{ $v.config.readyMaxLag | int64 | quote }}
{{- end }}
- name: TILLIT_DATA_DIR
  value: /var/lib/tillit
- name: TILLIT_ISSUER
  value: {{ include "tillit.issuer" $root | quote }}
- name: TILLIT_LOG_FORMAT
  value: {{ $v.config.logFormat | quote }}
- name: RUST_LOG
  value: {{ $v.config.logLevel | quote }}
- name: TILLIT_SHUTDOWN_GRACE_SECONDS
  value: {{ $v.config.shutdownGraceSeconds | int64 | quote }}
{{- if eq $name "assets" }}
- name: TILLIT_COMPANY_NAME
  value: {{ $v.config.companyName | quote }}
{{- end }}
{{- if has $name (list "assets" "incidents") }}
- name: TILLIT_DPO_CONTACT
  value: {{ $v.config.dpoContact | quote }}
{{- end }}
{{- if and $v.config.rules (has $name (list "assets" "reporting")) }}
- name: TILLIT_RULES_FILE
  value: /etc/tillit/config/rules.json
{{- end }}
{{- if and $v.config.clocks (eq $name "incidents") }}
- name: TILLIT_CLOCKS_FILE
  value: /etc/tillit/config/clocks.json
{{- end }}
{{- if eq $name "identity" }}
- name: TILLIT_IDENTITY_SIGNING_KEY_FILE
  value: /etc/tillit/secrets/signing/{{ include "tillit.signingKey" $root }}
- name: TILLIT_BOOTSTRAP_ADMIN_EMAIL
  value: {{ $v.identity.bootstrapAdmin.email | quote }}
- name: TILLIT_BOOTSTRAP_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "tillit.adminSecret" $root }}
      key: {{ include "tillit.adminKey" $root }}
- name: TILLIT_ACCESS_TOKEN_TTL_SECONDS
  value: {{ $v.identity.accessTokenTtlSeconds | int64 | quote }}
- name: TILLIT_REFRESH_TOKEN_TTL_SECONDS
  value: {{ $v.identity.refreshTokenTtlSeconds | int64 | quote }}
{{- end }}
{{- if eq $name "reporting" }}
{{- $r := $v.reporting.reminders }}
- name: TILLIT_REMINDER_INTERVAL_MS
  value: {{ $r.intervalMs | int64 | quote }}
{{- if $r.recipients }}
- name: TILLIT_REMINDER_RECIPIENTS
  value: {{ $r.recipients | quote }}
{{- end }}
{{- if $r.webhook.url }}
- name: TILLIT_WEBHOOK_URL
  value: {{ $r.webhook.url | quote }}
- name: TILLIT_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ required "reporting.reminders.webhook.existingSecret: a Secret with the webhook's HMAC secret is required with webhook.url" $r.webhook.existingSecret }}
      key: {{ $r.webhook.key }}
- name: TILLIT_WEBHOOK_KINDS
  value: {{ $r.webhook.kinds | quote }}
{{- end }}
{{- if $r.smtp.existingSecret }}
- name: TILLIT_SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ $r.smtp.existingSecret }}
      key: {{ $r.smtp.key }}
- name: TILLIT_SMTP_FROM
  value: {{ $r.smtp.from | quote }}
- name: TILLIT_EMAIL_KINDS
  value: {{ $r.smtp.kinds | quote }}
{{- end }}
{{- end }}
{{- if $v.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.otel.endpoint | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: tillit-{{ $name }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $v.otel.sampler | quote }}
{{- if $v.otel.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $v.otel.samplerArg | quote }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.pod.name=$(POD_NAME),k8s.namespace.name=%s%s" $root.Release.Namespace (ternary (printf ",%s" $v.otel.resourceAttributes) "" (ne $v.otel.resourceAttributes "")) | quote }}
{{- with (index $v $name).extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes and mounts: (dict "root" $ "name" "identity" "mounts" true|false). */}}
{{- define "tillit.volumes" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $name := .name -}}
{{- $c := index $v $name -}}
{{- $secrets := list -}}
{{- if eq $name "portal" -}}
{{- $secrets = append $secrets (list "cookie" (include "tillit.cookieSecret" $root) "/etc/tillit/secrets/cookie") -}}
{{- else -}}
{{- $secrets = append $secrets (list "personal-data" (include "tillit.personalDataSecret" $root) "/etc/tillit/secrets/personal-data") -}}
{{- if $v.nats.tls.caSecret }}{{ $secrets = append $secrets (list "nats-ca" $v.nats.tls.caSecret "/etc/tillit/nats/ca") }}{{ end -}}
{{- if $v.nats.tls.clientSecret }}{{ $secrets = append $secrets (list "nats-client" $v.nats.tls.clientSecret "/etc/tillit/nats/client") }}{{ end -}}
{{- $creds := $v.nats.credentials.credsSecret | default $v.nats.credentials.nkeySecret -}}
{{- if $creds }}{{ $secrets = append $secrets (list "nats-credentials" $creds "/etc/tillit/nats/credentials") }}{{ end -}}
{{- end -}}
{{- if eq $name "identity" -}}
{{- $secrets = append $secrets (list "signing" (include "tillit.signingSecret" $root) "/etc/tillit/secrets/signing") -}}
{{- end -}}
{{- $config := or (and $v.config.rules (has $name (list "assets" "reporting"))) (and $v.config.clocks (eq $name "incidents")) -}}
{{- if .mounts }}
- name: data
  mountPath: /var/lib/tillit
- name: tmp
  mountPath: /tmp
{{- range $secrets }}
- name: {{ index . 0 }}
  mountPath: {{ index . 2 }}
  readOnly: true
{{- end }}
{{- if $config }}
- name: config
  mountPath: /etc/tillit/config
  readOnly: true
{{- end }}
{{- with $c.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- else }}
{{- if not $c.persistence.enabled }}
- name: data
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- range $secrets }}
- name: {{ index . 0 }}
  secret:
    secretName: {{ index . 1 }}
    defaultMode: 0400
{{- end }}
{{- if $config }}
- name: config
  configMap:
    name: {{ include "tillit.fullname" $root }}-config
{{- end }}
{{- with $c.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The pod template of a component: (dict "root" $ "name" "identity"). */}}
{{- define "tillit.podTemplate" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $name := .name -}}
{{- $c := index $v $name -}}
{{- $ctx := dict "root" $root "name" $name -}}
metadata:
  labels:
    {{- include "tillit.labels" $ctx | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/config.yaml") $root | sha256sum }}
    {{- with $c.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "tillit.componentName" $ctx }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ include "tillit.terminationGrace" $root }}
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ $v.podSecurity.uid | int64 }}
    runAsGroup: {{ $v.podSecurity.uid | int64 }}
    fsGroup: {{ $v.podSecurity.uid | int64 }}
    seccompProfile:
      type: RuntimeDefault
  {{- with $v.image.pullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  containers:
    - name: {{ $name }}
      image: {{ include "tillit.image" $root }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      command:
        - /usr/local/bin/tillit-{{ $name }}
      env:
        {{- include "tillit.env" $ctx | nindent 8 }}
      ports:
        {{- if eq $name "portal" }}
        - name: http
          containerPort: 8080
          protocol: TCP
        {{- else }}
        - name: grpc
          containerPort: 50051
          protocol: TCP
        {{- end }}
        - name: admin
          containerPort: 9090
          protocol: TCP
      # Until the admin port answers: the identity view (and every projection of an
      # emptyDir) is rebuilt from the streams first, which takes a while on a long log.
      startupProbe:
        httpGet:
          path: /livez
          port: admin
        periodSeconds: 5
        failureThreshold: 180
      livenessProbe:
        httpGet:
          path: /livez
          port: admin
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      # Ready only while NATS is connected and every projection is current.
      readinessProbe:
        httpGet:
          path: /readyz
          port: admin
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      lifecycle:
        preStop:
          sleep:
            seconds: {{ $v.config.preStopSeconds | int64 }}
      resources:
        {{- toYaml $c.resources | nindent 8 }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        privileged: false
        capabilities:
          drop:
            - ALL
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        {{- include "tillit.volumes" (dict "root" $root "name" $name "mounts" true) | nindent 8 }}
  volumes:
    {{- include "tillit.volumes" (dict "root" $root "name" $name "mounts" false) | nindent 4 }}
  {{- with $c.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  topologySpreadConstraints:
    {{- if $c.topologySpreadConstraints }}
    {{- toYaml $c.topologySpreadConstraints | nindent 4 }}
    {{- else }}
    {{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
    - maxSkew: 1
      topologyKey: {{ $key }}
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "tillit.selectorLabels" $ctx | nindent 10 }}
    {{- end }}
    {{- end }}
{{- end -}}
