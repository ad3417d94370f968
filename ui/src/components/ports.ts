// One colour per port type, on handles, edges and port lists alike.
import type { PortType } from '@emflow/engine/protocol';

const COLORS: Record<PortType, string> = {
  ndarray: '#a3adb8',
  image2d: '#4cc9f0',
  volume3d: '#b388ff',
  stack: '#7c8cff',
  spectrum: '#f9c74f',
  table: '#90be6d',
  scalar: '#f8961e',
  json: '#ff7eb6',
};

export const portColor = (type: PortType | undefined): string => (type !== undefined && Object.hasOwn(COLORS, type) ? COLORS[type] : '#777');
