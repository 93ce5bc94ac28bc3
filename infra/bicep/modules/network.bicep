// Optional VNet integration: the app's outbound traffic enters a delegated subnet, and storage is reached through
// private endpoints (blob, queue, table) resolved by private DNS zones linked to the VNet.

param name string
param location string
param tags object
param addressPrefix string
param storageAccountId string

var appSubnetPrefix = cidrSubnet(addressPrefix, 24, 0)
var endpointSubnetPrefix = cidrSubnet(addressPrefix, 24, 1)
var storageServices = ['blob', 'queue', 'table']

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'vnet-${name}'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          // Flex Consumption integrates through a subnet delegated to Microsoft.App/environments.
          delegations: [{ name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: 'endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for service in storageServices: {
  name: 'privatelink.${service}.${environment().suffixes.storage}'
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (service, i) in storageServices: {
  parent: zones[i]
  name: 'vnet-${name}'
  location: 'global'
  properties: {
    virtualNetwork: { id: vnet.id }
    registrationEnabled: false
  }
}]

resource endpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for service in storageServices: {
  name: 'pe-${name}-${service}'
  location: location
  tags: tags
  properties: {
    subnet: { id: vnet.properties.subnets[1].id }
    privateLinkServiceConnections: [
      {
        name: service
        properties: { privateLinkServiceId: storageAccountId, groupIds: [service] }
      }
    ]
  }
}]

resource endpointZones 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (service, i) in storageServices: {
  parent: endpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [{ name: service, properties: { privateDnsZoneId: zones[i].id } }]
  }
}]

output appSubnetId string = vnet.properties.subnets[0].id
