// Serverless LLM Relay on Azure Functions Flex Consumption: everything the app needs, in one resource group.
// One user-assigned identity reaches storage, Service Bus, Key Vault and Application Insights; no key or connection
// string is stored anywhere. Deploy with scripts/deploy.sh (README, "Deploy to Azure").

targetScope = 'resourceGroup'

@description('Base name of every resource; lowercase letters, digits and hyphens.')
@minLength(3)
@maxLength(16)
param name string = 'relay'

@description('Region of every resource; must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Memory of one instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Instances kept warm for HTTP functions (billed while idle); 0 scales to zero.')
@minValue(0)
@maxValue(20)
param alwaysReadyHttpInstances int = 1

@description('HTTP requests one instance serves at once before the platform adds an instance. Streams are long and I/O bound.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 64

@description('Service Bus tier. Premium adds private endpoints and isolation.')
@allowed(['Standard', 'Premium'])
param serviceBusSku string = 'Standard'

@description('How long a received message stays locked; the host renews it (host.json extensions.serviceBus).')
param serviceBusLockDuration string = 'PT1M'

@description('Deliveries before a message is dead-lettered.')
@minValue(1)
@maxValue(100)
param serviceBusMaxDeliveryCount int = 5

@description('How long an unconsumed message lives before it expires into the dead-letter queue.')
param serviceBusMessageTimeToLive string = 'P1D'

@description('The key id (kid) of the current encryption key inside the relay-encryption-keys secret.')
param encryptionKeyId string = 'k1'

@description('Prefix of the relay\'s table names, so several deployments can share one account. Empty for none.')
param tablePrefix string = ''

@description('Integrate the app with a new virtual network and reach storage through private endpoints.')
param enableVnet bool = false

@description('Address space of the virtual network (only with enableVnet).')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Log Analytics retention, in days.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

param tags object = {}

var suffix = uniqueString(resourceGroup().id, name)
var compactName = replace(name, '-', '')
var storageName = take('st${compactName}${suffix}', 24)
var keyVaultName = take('kv-${name}-${suffix}', 24)
var deploymentContainerName = 'app-package'
var adminKeySecretName = 'relay-admin-key'
var encryptionKeysSecretName = 'relay-encryption-keys'

// Built-in role definition ids (the same in every cloud).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}'
  location: location
  tags: tags
}

// :: Storage: the host's and the relay's tables, queues and blobs, and the deployment package container.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // With the VNet, only the private endpoints and trusted Azure services (the deployment service) get in.
      defaultAction: enableVnet ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// :: Service Bus: the IM queues. Sessions keep one conversation's messages in order; duplicate detection drops a
// webhook the IM platform delivered twice.
resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: 'sb-${name}-${suffix}'
  location: location
  tags: tags
  sku: { name: serviceBusSku, tier: serviceBusSku, capacity: serviceBusSku == 'Premium' ? 1 : null }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource imInbound 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: 'im-inbound'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    maxDeliveryCount: serviceBusMaxDeliveryCount
    lockDuration: serviceBusLockDuration
    defaultMessageTimeToLive: serviceBusMessageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

resource imOutbound 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: 'im-outbound'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    maxDeliveryCount: serviceBusMaxDeliveryCount
    lockDuration: serviceBusLockDuration
    defaultMessageTimeToLive: serviceBusMessageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

// :: Key Vault: the admin key and the encryption key ring, read by the platform through Key Vault references.
resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

// :: Monitoring: Entra-only ingestion (local auth off), so the connection string alone cannot write telemetry.
resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${name}-${suffix}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}-${suffix}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

module network 'modules/network.bicep' = if (enableVnet) {
  name: 'network'
  params: {
    name: name
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    storageAccountId: storage.id
  }
}

// :: The app: a Flex Consumption plan and a Linux function app running the custom handler.
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}-${suffix}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${name}-${suffix}'
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    virtualNetworkSubnetId: enableVnet ? network!.outputs.appSubnetId : null
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      runtime: { name: 'custom', version: '1.0' }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReadyHttpInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttpInstances }] : []
        triggers: { http: { perInstanceConcurrency: httpPerInstanceConcurrency } }
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        // Host storage and the relay's tables, by identity (the handler reads the same settings).
        { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        // serviceBusEndpoint reads https://NAME.servicebus.windows.net:443/; the setting wants the host name.
        { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: split(replace(serviceBus.properties.serviceBusEndpoint, 'https://', ''), ':')[0] }
        { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
        { name: 'ServiceBusConnection__clientId', value: identity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        { name: 'RELAY_ADMIN_KEY', value: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${adminKeySecretName})' }
        { name: 'RELAY_ENCRYPTION_KEYS', value: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${encryptionKeysSecretName})' }
        { name: 'RELAY_ENCRYPTION_KEY_ID', value: encryptionKeyId }
        { name: 'RELAY_TABLE_PREFIX', value: tablePrefix }
        // The .NET runtime's own settings, from functions/Handler/runtime.env (why each one: there).
        { name: 'DOTNET_TC_DelaySingleProcMultiplier', value: '1' }
        { name: 'DOTNET_GCgen0size', value: '2000000' }
      ]
    }
  }
  dependsOn: [
    deploymentContainer
    queueService
    tableService
    imInbound
    imOutbound
    storageBlobDataOwner
    storageQueueDataContributor
    storageTableDataContributor
    keyVaultSecretsUser
  ]
}

// :: Role assignments of the identity, each on the one resource it needs.
resource storageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource serviceBusDataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, identity.id, roles.serviceBusDataSender)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource serviceBusDataReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, identity.id, roles.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// NOTE: Data Owner lets the scale controller read queue lengths, so target-based scaling sees the backlog.
resource serviceBusDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, identity.id, roles.serviceBusDataOwner)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource monitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output appName string = app.name
output defaultHostName string = app.properties.defaultHostName
output serviceBusNamespace string = serviceBus.name
output keyVaultName string = keyVault.name
output identityClientId string = identity.properties.clientId
output storageAccountName string = storage.name
