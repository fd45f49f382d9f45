// What citizens are told when the printer cannot print: shown on the board and used by the
// dispenser flow to refuse a press (no number is issued without a ticket to take home).
import type { PrinterStatus } from '../../device/ports/outputs.ts';

export const PAPER_OUT_MESSAGE = '용지 없음 — 직원에게 문의하세요';

/** The refusal for a press while the printer is not ready, or null when it can print. */
export function printerRefusal(status: PrinterStatus): { code: string; message: string } | null {
  if (status.ready) return null;
  if (status.paper === 'out') return { code: 'printer-paper-out', message: PAPER_OUT_MESSAGE };
  if (status.error === 'printer-cover-open')
    return { code: 'printer-cover-open', message: '프린터 덮개 열림 — 직원에게 문의하세요' };
  return { code: status.error ?? 'printer-offline', message: '번호표 프린터 점검 중 — 직원에게 문의하세요' };
}
