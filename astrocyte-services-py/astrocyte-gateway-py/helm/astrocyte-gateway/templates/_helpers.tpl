{{- define "astrocyte-gateway.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "astrocyte-gateway.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "astrocyte-gateway.secretName" -}}
{{- default (include "astrocyte-gateway.fullname" .) .Values.existingSecret -}}
{{- end -}}
