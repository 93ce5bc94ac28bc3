// Example parameters: copy, adjust, and pass to scripts/deploy.sh. Holds no secret: the admin key and the encryption
// keys go into Key Vault after the first deployment (README, "Deploy to Azure").
using 'main.bicep'

param name = 'relay'
param instanceMemoryMB = 2048
param maximumInstanceCount = 40
param alwaysReadyHttpInstances = 1
param httpPerInstanceConcurrency = 64
param serviceBusSku = 'Standard'
param serviceBusLockDuration = 'PT1M'
param serviceBusMaxDeliveryCount = 5
param encryptionKeyId = 'k1'
param enableVnet = false
param tags = { app: 'serverless-llm-relay' }
