// What a satellite's counter display says about the last key (Korean: the clerk and the citizen in
// front of the counter read it), and what its board says while the main unit is out of reach.
import type { CommandResult } from '../../bridge/contract/types.ts';
import type { SatelliteCode } from '../error-codes.ts';
import { keyRefusalForClerks } from '../messages-ko.ts';

/** The board's alert and each counter display's band while the link to the main unit is down. */
export const MAIN_LINK_DOWN = '본체 연결 끊김';

/** A key the satellite refused or lost itself (it never reached the main unit, or no answer came). */
export function keyProblemText(code: SatelliteCode): string {
  switch (code) {
    case 'key-link-down':
      return '본체 연결 끊김 — 키 무시됨';
    case 'key-link-lost':
      return '연결 끊김 — 처리 여부 확인';
    case 'key-timeout':
      return '응답 없음 — 처리 여부 확인';
    case 'key-result-invalid':
      return '응답 오류 — 처리 여부 확인';
    case 'key-busy':
      return '이전 키 처리 중';
    default:
      return '처리 안 됨';
  }
}

/** The main unit's answer to a key, in a few words. */
export function resultText(type: string, result: CommandResult): string {
  if (!result.ok) return keyRefusalForClerks(result.error.code);
  const number = result.result.ticket?.number;
  switch (type) {
    case 'counter.next':
    case 'counter.skip':
    case 'counter.call':
      return number ? `${number} 호출` : '대기 없음';
    case 'counter.recall':
      return number ? `${number} 다시 호출` : '다시 호출';
    case 'counter.transfer':
      return number ? `${number} 이관` : '이관 완료';
    case 'counter.pause':
      return '잠시 자리 비움';
    case 'counter.resume':
      return '업무 재개';
    case 'counter.close':
      return '업무 종료';
    default:
      return '처리됨';
  }
}
