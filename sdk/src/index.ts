export * from './spec.js';
export * from './dtype.js';
export * from './frames.js';
export * from './codec.js';
export * from './operator.js';
export * from './protocol/messages.js';
export { openChannel, call, type Channel } from './protocol/channel.js';
export { map, unmap, SlotMappings } from './shm.js';
export { npyHeader, decodeNpy } from './npy.js';
