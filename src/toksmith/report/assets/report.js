(function(){
document.querySelectorAll('.sample').forEach(function(s){
  s.addEventListener('mouseover',function(e){
    var t=e.target.closest('.vtoks>span');if(!t)return;
    var b=+t.dataset.b,en=+t.dataset.e;
    s.querySelectorAll('.vtoks>span').forEach(function(o){
      o.classList.toggle('hl',o.parentNode!==t.parentNode&&+o.dataset.b<en&&+o.dataset.e>b);});});
  s.addEventListener('mouseleave',function(){
    s.querySelectorAll('.vtoks>span.hl').forEach(function(o){o.classList.remove('hl');});});
});
document.querySelectorAll('table.sortable-table').forEach(function(tb){
  tb.querySelectorAll('th.sortable').forEach(function(h){
    h.addEventListener('click',function(){
      var c=+h.dataset.col,asc=h.dataset.dir!=='asc';h.dataset.dir=asc?'asc':'desc';
      var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[c].dataset.v,y=b.cells[c].dataset.v,nx=parseFloat(x),ny=parseFloat(y);
        if(x===''&&y!=='')return 1;if(y===''&&x!=='')return -1;
        var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));
        return asc?r:-r;});
      rows.forEach(function(r){body.appendChild(r);});});});
});
})();
