{{/* The components, in the order they are started and listed. */}}
{{- define "tillit.components" -}}
identity assets incidents reporting portal
{{- end -}}

{{/* <release>-tillit, or the release name when it already says tillit; at most 63 characters. */}}
{{- define "tillit.fullname" -}}
{{- if contains "tillit" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-tillit" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of a component's objects: (dict "root" $ "name" "identity"). */}}
{{- define "tillit.componentName" -}}
{{- printf "%s-%s" (include "tillit.fullname" .root) .name -}}
{{- end -}}

{{- define "tillit.selectorLabels" -}}
app.kubernetes.io/name: tillit
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "tillit.labels" -}}
{{ include "tillit.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tillit
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Labels of objects that belong to no one component. */}}
{{- define "tillit.commonLabels" -}}
app.kubernetes.io/name: tillit
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tillit
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tillit.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret the chart generates keys into, kept across upgrades. */}}
{{- define "tillit.generatedSecret" -}}
{{- printf "%s-generated" (include "tillit.fullname" .) -}}
{{- end -}}

{{/* (Secret name, key) of the personal-data secret, the signing key, the cookie key, the admin password. */}}
{{- define "tillit.personalDataSecret" -}}
{{- .Values.personalData.existingSecret | default (include "tillit.generatedSecret" .) -}}
{{- end -}}
{{- define "tillit.personalDataKey" -}}
{{- if .Values.personalData.existingSecret }}{{ .Values.personalData.key }}{{ else }}personal-data.key{{ end -}}
{{- end -}}
{{- define "tillit.signingSecret" -}}
{{- .Values.identity.signingKey.existingSecret | default (include "tillit.generatedSecret" .) -}}
{{- end -}}
{{- define "tillit.signingKey" -}}
{{- if .Values.identity.signingKey.existingSecret }}{{ .Values.identity.signingKey.key }}{{ else }}signing-key.pem{{ end -}}
{{- end -}}
{{- define "tillit.cookieSecret" -}}
{{- .Values.portal.cookieKey.existingSecret | default (include "tillit.generatedSecret" .) -}}
{{- end -}}
{{- define "tillit.cookieKey" -}}
{{- if .Values.portal.cookieKey.existingSecret }}{{ .Values.portal.cookieKey.key }}{{ else }}cookie-key{{ end -}}
{{- end -}}
{{- define "tillit.adminSecret" -}}
{{- .Values.identity.bootstrapAdmin.existingSecret | default (include "tillit.generatedSecret" .) -}}
{{- end -}}
{{- define "tillit.adminKey" -}}
{{- if .Values.identity.bootstrapAdmin.existingSecret }}{{ .Values.identity.bootstrapAdmin.key }}{{ else }}admin-password{{ end -}}
{{- end -}}

{{- define "tillit.issuer" -}}
{{- .Values.identity.issuer | default (printf "http://%s-identity:50051" (include "tillit.fullname" .)) -}}
{{- end -}}

{{/* The pods' grace period: the service's own, the preStop pause and a margin. */}}
{{- define "tillit.terminationGrace" -}}
{{- add (int64 .Values.config.shutdownGraceSeconds) (int64 .Values.config.preStopSeconds) 5 -}}
{{- end -}}
