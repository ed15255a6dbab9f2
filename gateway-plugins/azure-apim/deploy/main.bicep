// Deploys the Astrocyte memory policy fragments to an existing API Management instance and applies
// them to an existing API that fronts an OpenAI-compatible LLM (e.g. Azure OpenAI):
//
//   az deployment group create -g <resource-group> -f deploy/main.bicep \
//     -p apimName=<apim> apiName=<api> astrocyteUrl=https://astrocyte.example.com astrocyteApiKey=<key>
//
// The fragments read these named values: astrocyte-url, astrocyte-api-key (secret),
// astrocyte-max-results, astrocyte-max-tokens, astrocyte-timeout-seconds.

@description('Name of the existing API Management instance.')
param apimName string

@description('Name (id) of the existing API whose /chat/completions calls get memory.')
param apiName string

@description('Base URL of the Astrocyte gateway (no trailing slash), e.g. https://astrocyte.example.com')
param astrocyteUrl string

@secure()
@description('API key of the Astrocyte gateway (sent as Authorization: Bearer).')
param astrocyteApiKey string

@minValue(1)
@maxValue(200)
@description('Memories recalled per request.')
param maxResults int = 8

@minValue(16)
@description('Token budget of the injected memory block (estimate: characters / 4).')
param maxTokens int = 800

@minValue(1)
@maxValue(60)
@description('Seconds to wait for the Astrocyte gateway.')
param timeoutSeconds int = 2

@description('Also replace the API policy with policies/api-policy.xml (set false to include the fragments in your own policy).')
param applyApiPolicy bool = true

resource apim 'Microsoft.ApiManagement/service@2023-05-01-preview' existing = {
  name: apimName
}

resource api 'Microsoft.ApiManagement/service/apis@2023-05-01-preview' existing = {
  parent: apim
  name: apiName
}

var namedValues = {
  'astrocyte-url': astrocyteUrl
  'astrocyte-max-results': string(maxResults)
  'astrocyte-max-tokens': string(maxTokens)
  'astrocyte-timeout-seconds': string(timeoutSeconds)
}

resource plainValues 'Microsoft.ApiManagement/service/namedValues@2023-05-01-preview' = [for item in items(namedValues): {
  parent: apim
  name: item.key
  properties: {
    displayName: item.key
    value: item.value
    secret: false
  }
}]

resource apiKeyValue 'Microsoft.ApiManagement/service/namedValues@2023-05-01-preview' = {
  parent: apim
  name: 'astrocyte-api-key'
  properties: {
    displayName: 'astrocyte-api-key'
    value: astrocyteApiKey
    secret: true
  }
}

resource inboundFragment 'Microsoft.ApiManagement/service/policyFragments@2023-05-01-preview' = {
  parent: apim
  name: 'astrocyte-memory-inbound'
  properties: {
    description: 'Astrocyte: recall for the latest user turn and inject it as a system message.'
    format: 'xml'
    value: loadTextContent('../policies/astrocyte-memory-inbound.xml')
  }
  dependsOn: [
    plainValues
    apiKeyValue
  ]
}

resource outboundFragment 'Microsoft.ApiManagement/service/policyFragments@2023-05-01-preview' = {
  parent: apim
  name: 'astrocyte-memory-outbound'
  properties: {
    description: 'Astrocyte: report the memory mode and retain the exchange (one-way request).'
    format: 'xml'
    value: loadTextContent('../policies/astrocyte-memory-outbound.xml')
  }
  dependsOn: [
    plainValues
    apiKeyValue
  ]
}

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2023-05-01-preview' = if (applyApiPolicy) {
  parent: api
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../policies/api-policy.xml')
  }
  dependsOn: [
    inboundFragment
    outboundFragment
  ]
}

output fragments array = [
  inboundFragment.name
  outboundFragment.name
]
