// The bridge between the sandboxed renderer and main: one typed method per IPC message, nothing generic
// (no send(channel, ...), no raw ipcRenderer). Bundled to CommonJS: sandboxed preloads cannot be ESM.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { CHANNELS, isMenuCommand, type MenuCommand, type ResnetLabApi } from '../shared/ipc';

const api: ResnetLabApi = {
  platform: process.platform,
  openImages: () => ipcRenderer.invoke(CHANNELS.openImages),
  openFolder: () => ipcRenderer.invoke(CHANNELS.openFolder),
  openModel: () => ipcRenderer.invoke(CHANNELS.openModel),
  decodeImageBytes: (bytes, name, spec, opts) => ipcRenderer.invoke(CHANNELS.decodeImageBytes, bytes, name, spec, opts),
  decodeImagePath: (path, spec, opts) => ipcRenderer.invoke(CHANNELS.decodeImagePath, path, spec, opts),
  saveCsv: (text, suggestedName) => ipcRenderer.invoke(CHANNELS.saveCsv, text, suggestedName),
  onMenuCommand(listener: (command: MenuCommand) => void): () => void {
    // The renderer never sees the event object (it would expose ipcRenderer.sender).
    const wrapped = (_e: IpcRendererEvent, command: unknown): void => {
      if (isMenuCommand(command)) listener(command);
    };
    ipcRenderer.on(CHANNELS.menuCommand, wrapped);
    return () => void ipcRenderer.removeListener(CHANNELS.menuCommand, wrapped);
  },
};

contextBridge.exposeInMainWorld('resnetLab', api);
