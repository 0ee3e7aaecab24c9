import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFormat } from './detect-format.ts';

test('each format is known by its header, or JSON by its first character', () => {
  const cases: [string, string][] = [
    ['generic', 'id,org,submit_s,duration_s,gpus\n'],
    ['philly-pollux', 'timestamp,duration,num_gpus,gpu_time,cluster\n'],
    ['philly-pollux', 'job_idx,vc,timestamp,submit_s,duration_s,num_gpus,gpu_time_s\n'],
    ['philly-json', '\n  [\n  {"status": "Pass"}]'],
    ['helios', 'job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue\r\n'],
    ['helios', 'job_id,user,tenant,class,submit_time,num_chips,chip_type,num_nodes,duration_s,walltime_limit_s,final_status\n'],
    ['pai', '4f05,worker,3.0,Terminated,1591580700.0,1591584300.0,600.0,29.29,50.0,V100\n'],
    ['openb', '\uFEFFname,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n'],
    ['gavel', 'vc,job_type,num_steps_arg,needs_data_dir,total_steps,arrival_time_s,scale_factor_gpus,duration_s_v100,duration_s_p100,duration_s_k80\n'],
    ['gavel', 'ResNet-18 (batch size 32)\tcd %s && python3 main.py\t--num_steps\t1\t1104675\t6.000000\t1\n'],
  ];
  for (const [format, text] of cases) assert.equal(detectFormat(text, 'trace.csv'), format, text);
});

test('the Helios and PAI samples share a header: the path tells them apart, or nothing is guessed', () => {
  const text = 'job_id,arrival_s,service_sec,gpu_count\n1,0,1,1\n';
  assert.equal(detectFormat(text, 'data/helios-venus/jobs.csv'), 'helios');
  assert.equal(detectFormat(text, 'data/alibaba-pai-2020/jobs.csv'), 'pai');
  assert.equal(detectFormat(text, 'jobs.csv'), undefined);
});

test('an unknown header or an empty file is undefined', () => {
  assert.equal(detectFormat('a,b,c\n1,2,3\n', 'x.csv'), undefined);
  assert.equal(detectFormat('\n\n', 'x.csv'), undefined);
});
